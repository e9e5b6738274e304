"""MoCo's shuffle-BN: a key branch run on images shuffled across ranks."""
from typing import Callable, Tuple

import torch
from mmengine.dist import get_world_size
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from torch import Tensor


@torch.no_grad()
def forward_shuffled(fn: Callable[[Tensor], Tuple[Tensor, ...]],
                     images: Tensor) -> Tuple[Tensor, ...]:
    """``fn(images)``, with the batch shuffled across ranks when distributed.

    The key encoder's BN then normalises each rank's keys with statistics of
    other ranks' images, so that BN cannot leak which query and key belong
    together (MoCo). Every output of ``fn`` must have one row per image; the
    rows come back in this rank's order. In one process nothing is shuffled.

    Args:
        fn (Callable): Maps (N, ...) images to a tuple of (N, ...) tensors.
        images (Tensor): (N, ...) this rank's images (any trailing shape, e.g.
            (N, P, 3, h, w) patch sets, which travel with their image).

    Returns:
        tuple[Tensor, ...]: ``fn``'s outputs, rows in the order of ``images``.
    """
    if get_world_size() == 1:
        return tuple(fn(images))
    shuffled, unshuffle = batch_shuffle_ddp(images)
    return tuple(batch_unshuffle_ddp(out, unshuffle) for out in fn(shuffled))
