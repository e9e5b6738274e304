"""A hook that saves chosen buffers of the model before the first iteration of a
run: what a resumed run starts from. Importing this module registers it in
MMEngine's root registry, so a config (``custom_imports``) can name it."""
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module(force=True)
class RecordBuffersAtStart(Hook):
    """Save ``{name: buffer}`` of the model to ``out`` before the run's first
    training iteration (after any resume has loaded the checkpoint).

    Args:
        names (list[str]): Buffer names in the model's state dict.
        out (str): Where to ``torch.save`` them.
    """

    priority = 'VERY_LOW'

    def __init__(self, names, out):
        self.names = list(names)
        self.out = out
        self.done = False

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.done:
            return
        model = runner.model.module if hasattr(runner.model, 'module') \
            else runner.model
        state = model.state_dict()
        torch.save({n: state[n].clone() for n in self.names}, self.out)
        self.done = True
