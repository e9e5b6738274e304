"""A hook that sends the process a signal at a chosen iteration: interrupts in
tests without a race against a clock. Importing this module registers it in
MMEngine's root registry, so a config (``custom_imports``) can name it."""
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module(force=True)
class RaiseSignalAtIter(Hook):
    """Raise ``signum`` in this process ``times`` times at the end of training
    iteration ``iteration`` (1-based), before InterruptCheckpointHook runs.

    Args:
        iteration (int): The iteration to signal at.
        signum (str): The signal's name. Defaults to ``'SIGINT'``.
        times (int): How many times. Defaults to 1.
    """

    priority = 'NORMAL'

    def __init__(self, iteration: int, signum: str = 'SIGINT', times: int = 1):
        self.iteration = iteration
        self.signum = signal.Signals[signum]
        self.times = times

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.iteration:
            for _ in range(self.times):
                signal.raise_signal(self.signum)
