"""MoCo's shuffle-BN: a key branch run on images shuffled across ranks."""
from typing import Callable, Tuple

import torch
from mmengine.dist import all_gather, get_rank, get_world_size
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from torch import Tensor


@torch.no_grad()
def forward_shuffled(fn: Callable[..., Tuple[Tensor, ...]], images: Tensor,
                     *per_image: Tensor) -> Tuple[Tensor, ...]:
    """``fn(images, *per_image)``, with the batch shuffled across ranks when
    distributed.

    The key encoder's BN then normalises each rank's keys with statistics of
    other ranks' images, so that BN cannot leak which query and key belong
    together (MoCo). Every output of ``fn`` must have one row per image; the
    rows come back in this rank's order. In one process nothing is shuffled.

    Args:
        fn (Callable): Maps (N, ...) images, and the ``per_image`` tensors in
            the same order, to a tuple of (N, ...) tensors.
        images (Tensor): (N, ...) this rank's images (any trailing shape, e.g.
            (N, P, 3, h, w) patch sets, which travel with their image).
        *per_image (Tensor): (N, ...) tensors that belong to the images (e.g.
            their boxes) and travel with them to the rank that encodes them;
            each must have the same shape on every rank.

    Returns:
        tuple[Tensor, ...]: ``fn``'s outputs, rows in the order of ``images``.
    """
    if get_world_size() == 1:
        return tuple(fn(images, *per_image))
    shuffled, unshuffle = batch_shuffle_ddp(images)
    # the global indices of the images this rank now holds (the inverse of the
    # unshuffle), to pick their companions from the gathered batch
    held = torch.argsort(unshuffle).view(get_world_size(), -1)[get_rank()]
    carried = [torch.cat(all_gather(t))[held.to(t.device)] for t in per_image]
    return tuple(batch_unshuffle_ddp(out, unshuffle)
                 for out in fn(shuffled, *carried))
