from mmengine.registry import HOOKS as MMENGINE_HOOKS

from .freeze_modules_hook import FreezeModulesHook
from .interrupt_checkpoint_hook import InterruptCheckpointHook, TrainingInterrupted
from .non_finite_loss_hook import NonFiniteLossHook
from .progress_bar_hook import ProgressBarHook

# These hooks know nothing of objcon's models: configs of other scopes (the
# mmpretrain baselines, configs/baselines) find them by bare name through the root
# registry, which a scope-prefixed name cannot reach from a sibling scope.
for _hook in (FreezeModulesHook, InterruptCheckpointHook, NonFiniteLossHook,
              ProgressBarHook):
    if _hook.__name__ not in MMENGINE_HOOKS.module_dict:
        MMENGINE_HOOKS.register_module(module=_hook)

__all__ = [
    'FreezeModulesHook', 'InterruptCheckpointHook', 'NonFiniteLossHook',
    'ProgressBarHook', 'TrainingInterrupted'
]
