from typing import List, Optional, Sequence, Union

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from objcon.errors import InputError
from objcon.registry import HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]


@HOOKS.register_module()
class FreezeModulesHook(Hook):
    """Train with some submodules of the model frozen (e.g. the backbone).

    Before training, every parameter of each named submodule stops requiring a
    gradient, so the optimizer never changes it (no update, no weight decay, no
    momentum). Before every training iteration the submodules are put in eval
    mode: their BN statistics stay those loaded and dropout is off, also after a
    validation, which returns the whole model to train mode.

    Args:
        modules (Sequence[str]): Dotted names of submodules of the model (the
            model inside its wrapper), e.g. ``['backbone', 'neck']``. Empty:
            nothing is frozen.
    """

    priority = 'NORMAL'

    def __init__(self, modules: Sequence[str] = ()) -> None:
        if isinstance(modules, str) or not all(
                isinstance(m, str) and m for m in modules):
            raise InputError(
                'FreezeModulesHook: modules must be a list of submodule names '
                f"(e.g. ['backbone', 'neck']), got {modules!r}")
        self.modules = list(modules)
        self._frozen: List[nn.Module] = []

    @staticmethod
    def _unwrap(runner) -> nn.Module:
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        if not self.modules:
            return
        model = self._unwrap(runner)
        children = [name for name, _ in model.named_children()]
        self._frozen = []
        for name in self.modules:
            try:
                self._frozen.append(model.get_submodule(name))
            except AttributeError:
                raise InputError(
                    f'frozen module {name!r} is not a submodule of '
                    f'{type(model).__name__}; its top-level modules are '
                    f'{children}') from None
        if getattr(runner.model, 'find_unused_parameters', True) is False:
            # DDP's reducer, built with the model, waits for every gradient
            raise InputError(
                'frozen modules under DistributedDataParallel need '
                "model_wrapper_cfg=dict(type='MMDistributedDataParallel', "
                'find_unused_parameters=True)')
        counts = []
        for name, module in zip(self.modules, self._frozen):
            params = list(module.parameters())
            for param in params:
                param.requires_grad_(False)
            counts.append(f'{name} ({sum(p.numel() for p in params):,} '
                          'parameters)')
        runner.logger.info(f'FreezeModulesHook: frozen {", ".join(counts)}; '
                           'kept in eval mode')
        self._keep_eval()

    def _keep_eval(self) -> None:
        for module in self._frozen:
            module.eval()

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        # the train loop sets the whole model to train mode before each iteration
        self._keep_eval()
