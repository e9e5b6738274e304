import os
import os.path as osp
import signal
import threading
from typing import Optional, Sequence, Union

import torch
from mmengine.dist import all_reduce, barrier, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from objcon.registry import HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]
# Where an interrupted checkpoint records how far into its epoch it stopped.
EPOCH_BATCHES_KEY = 'epoch_batches_done'


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on a signal, after saving a checkpoint to resume from.

    A ``KeyboardInterrupt`` (as Ctrl-C without the hook), so ``except Exception``
    does not swallow it.

    Args:
        signum (int): The signal received.
        iteration (int): Iterations done; the checkpoint resumes after them.
        checkpoint (str): The checkpoint saved.
    """

    def __init__(self, signum: int, iteration: int, checkpoint: str) -> None:
        self.signum = signum
        self.iteration = iteration
        self.checkpoint = checkpoint
        super().__init__(
            f'{signal.Signals(signum).name} received: stopped after iteration '
            f'{iteration} and saved {checkpoint}; run again with --resume to '
            'continue from there')

    @property
    def exit_code(self) -> int:
        """The shell's status for a process ended by this signal (130 for
        SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum


class _SkipBatches:
    """A batch sampler less its first ``skip`` batches (the part of an epoch an
    interrupted checkpoint already trained on) while ``skip`` is set; the
    sampler's own batches once it is 0. Skipping draws indices only: no image is
    loaded."""

    def __init__(self, batch_sampler, skip: int) -> None:
        self.batch_sampler = batch_sampler
        self.skip = skip

    def __iter__(self):
        batches = iter(self.batch_sampler)
        for _ in range(self.skip):
            next(batches, None)
        yield from batches

    def __len__(self) -> int:
        return max(len(self.batch_sampler) - self.skip, 0)

    def __getattr__(self, name: str):
        # sampler, batch_size...: what hooks read from a batch sampler
        if name == 'batch_sampler':
            raise AttributeError(name)
        return getattr(self.batch_sampler, name)


@HOOKS.register_module()
class InterruptCheckpointHook(Hook):
    """Save a checkpoint when the process gets SIGINT or SIGTERM, then stop.

    The signal handler only records the signal. At the end of the iteration under
    way the hook saves ``interrupted_iter_<N>.pth`` in the work dir (model,
    optimizer, schedulers, message hub: what ``--resume`` restores), points the
    work dir's ``last_checkpoint`` at it and raises :class:`TrainingInterrupted`
    (tools/train.py exits with status 128 + the signal: 130 for Ctrl-C, 143 for
    SIGTERM). A second signal before then stops at once, as without the hook.
    In a distributed run the ranks agree on the iteration to stop at (one
    all-reduce of a scalar an iteration), so a signal that reaches one rank stops
    them all together.

    Resuming from a checkpoint saved in mid-epoch continues that epoch after the
    batches it had trained on (MMEngine's epoch loop would restart the epoch), so
    an interrupted run and an uninterrupted one see the same batches in the same
    order, with the same learning rates and momenta.

    Args:
        signals (Sequence[str]): Names of the signals to catch. Defaults to
            ``('SIGINT', 'SIGTERM')``. A signal the process ignores (e.g. SIGINT
            of a background job) stays ignored.
    """

    priority = 'LOWEST'  # after every other hook of the iteration has run

    def __init__(self, signals: Sequence[str] = ('SIGINT', 'SIGTERM')) -> None:
        unknown = [s for s in signals if s not in signal.Signals.__members__]
        if unknown or not signals:
            raise ValueError(f'signals must be names such as SIGINT or SIGTERM, '
                             f'got {list(signals)}')
        self.signals = tuple(signal.Signals[s] for s in signals)
        self._received: Optional[int] = None
        self._previous = {}
        self._skip = 0  # batches of the current epoch skipped on resume
        self._resumed_iter = None  # the iteration of the checkpoint loaded
        self._skipping: Optional[_SkipBatches] = None

    # Signals -----------------------------------------------------------------
    def _handle(self, signum: int, frame) -> None:
        if self._received is None:
            self._received = signum
            return
        # The user insists: stop now, as the process would without this hook.
        self._restore_handlers()
        signal.raise_signal(signum)

    def _install_handlers(self, runner) -> None:
        if threading.current_thread() is not threading.main_thread():
            runner.logger.warning('InterruptCheckpointHook: training runs outside '
                                  'the main thread, where signals cannot be caught;'
                                  ' no checkpoint will be saved on interrupt')
            return
        for signum in self.signals:
            previous = signal.getsignal(signum)
            if previous is signal.SIG_IGN:
                continue
            self._previous[signum] = previous
            signal.signal(signum, self._handle)

    def _restore_handlers(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}

    def _stop_signal(self) -> int:
        """The signal to stop on (0 for none), the same on every rank."""
        received = self._received or 0
        if get_world_size() == 1:
            return received
        flag = torch.tensor(received, dtype=torch.int64)
        all_reduce(flag, op='max')
        return int(flag)

    # Hooks -------------------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        self._skip = int(meta.get(EPOCH_BATCHES_KEY, 0))
        self._resumed_iter = meta.get('iter')

    def before_train(self, runner) -> None:
        self._received = None
        loop = runner.train_loop
        # only a resume (not load_from) continues at the checkpoint's iteration
        resumed = runner.iter > 0 and runner.iter == self._resumed_iter
        if self._skip and resumed and isinstance(loop, EpochBasedTrainLoop):
            loader = loop.dataloader
            self._skipping = _SkipBatches(loader.batch_sampler, self._skip)
            # DataLoader forbids setting batch_sampler once built. A persistent
            # workers' iterator keeps the sampler it began with, so the wrapper
            # stays and passes every batch through once its epoch is over.
            object.__setattr__(loader, 'batch_sampler', self._skipping)
            runner.logger.info(f'Resumed in mid-epoch: epoch {runner.epoch + 1} '
                               f'continues after its first {self._skip} batches')
        else:
            self._skip = 0
        self._install_handlers(runner)

    def after_train_epoch(self, runner) -> None:
        if self._skipping is not None:
            self._skipping.skip = 0
        self._skip = 0

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        signum = self._stop_signal()
        if not signum:
            return
        done = runner.iter + 1
        meta = {}
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            meta[EPOCH_BATCHES_KEY] = self._skip + batch_idx + 1
        filename = f'interrupted_iter_{done}.pth'
        path = osp.join(runner.work_dir, filename)
        runner.logger.info(f'{signal.Signals(signum).name} received: saving '
                           f'{path} after iteration {done}')
        runner.save_checkpoint(runner.work_dir, filename, meta=meta,
                               by_epoch=False)
        if is_main_process():
            # where --resume without a path looks (as CheckpointHook writes it)
            pointer = osp.join(runner.work_dir, 'last_checkpoint')
            with open(pointer + '.tmp', 'w') as f:
                f.write(path)
            os.replace(pointer + '.tmp', pointer)
        # no rank exits (and gets the launcher to kill the others) mid-save
        barrier()
        self._restore_handlers()
        raise TrainingInterrupted(signum, done, path)

    def after_train(self, runner) -> None:
        self._restore_handlers()
