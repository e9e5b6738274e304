import math
from typing import Optional, Sequence, Union

import torch
from mmengine.hooks import Hook

from objcon.registry import HOOKS

DATA_BATCH = Optional[Union[dict, tuple, list]]


def _as_float(value) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean())
    if isinstance(value, Sequence):
        return float(sum(_as_float(v) for v in value))
    return float(value)


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first iteration whose loss is NaN or infinite.

    A diverged self-supervised run otherwise keeps logging ``nan`` for hours. The
    error names the iteration and every loss term, so the faulty term is visible.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1.
    """

    priority = 'VERY_LOW'

    def __init__(self, interval: int = 1) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        terms = {k: _as_float(v) for k, v in outputs.items() if 'loss' in k}
        if all(math.isfinite(v) for v in terms.values()):
            return
        shown = ', '.join(f'{k}={v:.4g}' for k, v in terms.items())
        raise FloatingPointError(
            f'non-finite loss at iteration {runner.iter + 1} (epoch '
            f'{runner.epoch + 1}): {shown}. Lower the learning rate, check the '
            'data, or resume from the last checkpoint.')
