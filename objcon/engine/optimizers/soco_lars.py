from typing import Iterable

import torch
from torch.optim import Optimizer

from objcon.registry import OPTIMIZERS


@OPTIMIZERS.register_module()
class SoCoLARS(Optimizer):
    """LARS over momentum SGD, exactly as SoCo's reference.

    For a parameter ``w`` with gradient ``g`` that is not excluded::

        g <- g + weight_decay * w
        g <- g * eta * ||w|| / (||g|| + eps)      (factor 1 if a norm is 0)
        buf <- momentum * buf + g;  w <- w - lr * buf

    ``||g||`` already includes the decay term. mmpretrain's ``LARS`` divides by
    ``||g|| + weight_decay * ||w||`` instead, which is not the same update.
    Parameters with one dimension (biases, norm weights) get neither decay nor
    scaling when ``exclude_1d`` is set.

    Args:
        params (Iterable): Parameters or parameter groups.
        lr (float): Learning rate.
        momentum (float): Defaults to 0.9.
        weight_decay (float): Defaults to 1e-5.
        eta (float): Trust coefficient. Defaults to 0.001.
        eps (float): Defaults to 1e-8.
        exclude_1d (bool): Skip decay and scaling for 1-d parameters. Defaults to
            True.
    """

    def __init__(self,
                 params: Iterable,
                 lr: float,
                 momentum: float = 0.9,
                 weight_decay: float = 1e-5,
                 eta: float = 0.001,
                 eps: float = 1e-8,
                 exclude_1d: bool = True) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0 or eta <= 0:
            raise ValueError('lr, momentum, weight_decay must be >= 0 and eta > 0')
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                        eta=eta, eps=eps, exclude_1d=exclude_1d)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                d_p = p.grad
                if not (group['exclude_1d'] and p.ndim == 1):
                    d_p = d_p.add(p, alpha=group['weight_decay'])
                    w_norm = torch.norm(p)
                    g_norm = torch.norm(d_p)
                    trust = torch.where(
                        (w_norm > 0) & (g_norm > 0),
                        group['eta'] * w_norm / (g_norm + group['eps']),
                        torch.ones_like(w_norm))
                    d_p = d_p.mul(trust)
                state = self.state[p]
                if 'momentum_buffer' not in state:
                    buf = state['momentum_buffer'] = torch.clone(d_p).detach()
                else:
                    buf = state['momentum_buffer']
                    buf.mul_(group['momentum']).add_(d_p)
                p.add_(buf, alpha=-group['lr'])
        return loss
