"""Run a module once over G equal chunks as if it had been called once per chunk.

SoCo's reference runs the object trunk, projector and predictor once per (view,
pair, level), so every BN layer normalises each chunk with that chunk's own batch
statistics. Many small calls are slow on a CPU (and launch-bound on a GPU); one
call over the concatenation is fast but would pool the statistics of all chunks.
:func:`grouped_batch_norm` gets both: inside it, every plain BatchNorm layer of
the module normalises each of the G chunks of its input with the chunk's own
mean/var, and updates its running statistics exactly as G sequential calls would.
Layers without batch statistics (conv, linear, ReLU, GN, LN) act per sample and
need nothing.
"""
from contextlib import contextmanager
from typing import Callable, Iterator, List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


def _is_plain_bn(module: nn.Module) -> bool:
    """A torch BatchNorm whose forward is ``_BatchNorm.forward`` (not SyncBN)."""
    return (isinstance(module, _BatchNorm)
            and type(module).forward is _BatchNorm.forward)


def _is_batch_dependent(module: nn.Module) -> bool:
    # mmcv's SyncBatchNorm is not a _BatchNorm subclass: match it by name too.
    return isinstance(module, _BatchNorm) or 'sync' in type(module).__name__.lower()


def supports_grouped_batch_norm(module: nn.Module) -> bool:
    """Whether :func:`grouped_batch_norm` can reproduce per-chunk calls of
    ``module``.

    True when every layer with batch statistics is a plain torch BatchNorm.
    SyncBN (torch's or mmcv's) is not: its statistics are reduced across
    processes inside its own forward, so callers fall back to one call per chunk.

    Args:
        module (nn.Module): The module to inspect (checked at call time: the
            Runner may convert BN to SyncBN after the model is built).

    Returns:
        bool: True if grouping is exact.
    """
    return all(_is_plain_bn(m) for m in module.modules()
               if _is_batch_dependent(m))


def _update_running_stats(bn: _BatchNorm, mean: Tensor, var: Tensor) -> None:
    """Apply G per-chunk updates of ``bn``'s running stats in chunk order.

    Args:
        bn (_BatchNorm): The layer (training, tracking running stats).
        mean (Tensor): (G, C) per-chunk batch means.
        var (Tensor): (G, C) per-chunk unbiased batch variances (what torch's
            BN feeds its running_var).
    """
    groups = mean.shape[0]
    if bn.momentum is None:
        # cumulative moving average: the factor changes per call
        for g in range(groups):
            bn.num_batches_tracked.add_(1)
            factor = 1.0 / float(bn.num_batches_tracked)
            bn.running_mean.mul_(1 - factor).add_(mean[g], alpha=factor)
            bn.running_var.mul_(1 - factor).add_(var[g], alpha=factor)
        return
    m = bn.momentum
    # r_G = (1-m)^G r_0 + sum_g m (1-m)^(G-1-g) s_g  ==  G sequential updates
    weights = m * (1 - m)**torch.arange(
        groups - 1, -1, -1, dtype=mean.dtype, device=mean.device)
    decay = (1 - m)**groups
    bn.running_mean.mul_(decay).add_(weights @ mean)
    bn.running_var.mul_(decay).add_(weights @ var)
    bn.num_batches_tracked.add_(groups)


def grouped_bn_forward(bn: _BatchNorm, x: Tensor, groups: int) -> Tensor:
    """``bn`` applied to each of ``groups`` equal chunks of ``x`` (dim 0) on its own.

    Args:
        bn (_BatchNorm): A plain BatchNorm layer.
        x (Tensor): (G * R, C, ...) input, chunk g = rows ``[g R, (g+1) R)``.
        groups (int): G.

    Returns:
        Tensor: Same shape as ``x``; what ``torch.cat([bn(c) for c in
        x.chunk(G)])`` returns, with the same running-stat updates.
    """
    use_batch_stats = bn.training or bn.running_mean is None
    if not use_batch_stats or groups == 1:
        # eval mode is per sample: one call is exact
        return _BatchNorm.forward(bn, x)
    rows, channels = x.shape[:2]
    if rows % groups:
        raise ValueError(f'{rows} rows do not split into {groups} equal chunks')
    bn._check_input_dim(x)
    per = rows // groups
    # Fold the chunks into channels, (G R, C, *) -> (R, G C, *), so that torch's
    # native BN kernel (fast forward and backward) computes per-chunk statistics.
    folded = x.reshape(groups, per, channels, -1).transpose(0, 1).reshape(
        per, groups * channels, -1)
    track = bn.training and bn.track_running_stats
    # momentum 1 leaves exactly each chunk's batch mean / unbiased var in them
    # (in the buffers' dtype: under AMP x may be half while BN stats stay fp32)
    stats = [bn.running_mean.new_zeros(groups * channels),
             bn.running_var.new_ones(groups * channels)] if track else [None, None]
    weight = bn.weight.repeat(groups) if bn.affine else None
    bias = bn.bias.repeat(groups) if bn.affine else None
    y = F.batch_norm(folded, *stats, weight, bias, True, 1.0, bn.eps)
    if track:
        with torch.no_grad():
            _update_running_stats(bn, stats[0].view(groups, channels),
                                  stats[1].view(groups, channels))
    return y.reshape(per, groups, channels, -1).transpose(0, 1).reshape(x.shape)


@contextmanager
def grouped_batch_norm(module: nn.Module, groups: int) -> Iterator[None]:
    """Within the block, ``module(x)`` equals G per-chunk calls, concatenated.

    Every plain BatchNorm layer of ``module`` computes its batch statistics per
    chunk of ``x`` (G equal chunks along dim 0), gradients included, and its
    running statistics end as after G sequential calls in chunk order.

    Args:
        module (nn.Module): Module(s) to patch; check
            :func:`supports_grouped_batch_norm` first.
        groups (int): G.

    Raises:
        ValueError: If ``module`` holds SyncBN or another BN variant with its own
            forward.
    """
    if not supports_grouped_batch_norm(module):
        raise ValueError('grouped_batch_norm supports plain BatchNorm layers '
                         'only (not SyncBN)')
    patched: List[_BatchNorm] = [m for m in module.modules() if _is_plain_bn(m)]
    for bn in patched:
        # an instance attribute shadows the class's forward for nn.Module.__call__
        bn.forward = (lambda x, bn=bn: grouped_bn_forward(bn, x, groups))
    try:
        yield
    finally:
        for bn in patched:
            del bn.forward


def forward_per_chunk(module: nn.Module, fn: Callable[[Tensor], Tensor],
                      chunks: Sequence[Tensor], batched: bool = True) -> Tensor:
    """``cat([fn(c) for c in chunks])``: BN statistics of each chunk its own.

    With ``batched`` and chunks of one size, the chunks go through ``fn`` in one
    call under :func:`grouped_batch_norm` (same outputs, gradients and running
    statistics, fewer calls); otherwise (or with SyncBN, which cannot be grouped)
    one call per chunk.

    Args:
        module (nn.Module): Holds every BN layer ``fn`` runs.
        fn (Callable): The computation, on a (R, ...) batch.
        chunks (Sequence[Tensor]): The batches that each have their own BN
            statistics.
        batched (bool): Allow the one-call form. Defaults to True.

    Returns:
        Tensor: The outputs of the chunks, concatenated in order.
    """
    # checked per call: the Runner may have converted BN to SyncBN
    if (batched and len(chunks) > 1 and len({c.shape[0] for c in chunks}) == 1
            and supports_grouped_batch_norm(module)):
        with grouped_batch_norm(module, len(chunks)):
            return fn(torch.cat(list(chunks)))
    return torch.cat([fn(c) for c in chunks])
