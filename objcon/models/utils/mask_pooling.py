"""Segment masks on a feature grid: downsampling, id sampling, mask pooling."""
from typing import Optional, Tuple

import torch
from torch import Tensor


def label_maps_to_grid(label_maps: Tensor, grid_hw: Tuple[int, int]) -> Tensor:
    """The majority segment id of each cell of a coarse grid over label maps.

    DetCon's downsampling (one-hot, average pooling, argmax per cell) without the
    one-hot: pixel (y, x) of an h x w map falls in cell
    ``(floor(y gh / h), floor(x gw / w))`` (the average pool's windows when
    ``h, w`` are multiples of ``gh, gw``); each cell takes the id covering most
    of its pixels, the smallest id on a tie (the first maximum of the argmax over
    one-hot channels in id order).

    Args:
        label_maps (Tensor): (N, h, w) integer segment ids (any values).
        grid_hw (tuple[int, int]): (gh, gw), e.g. res5's spatial size.

    Returns:
        Tensor: (N, gh, gw) int64 ids.
    """
    n, h, w = label_maps.shape
    gh, gw = int(grid_hw[0]), int(grid_hw[1])
    if n == 0 or h < gh or w < gw:
        raise ValueError(f'label maps {tuple(label_maps.shape)} cannot be pooled '
                         f'to a {gh} x {gw} grid')
    device = label_maps.device
    rows = torch.arange(h, device=device) * gh // h
    cols = torch.arange(w, device=device) * gw // w
    cell = (rows[:, None] * gw + cols[None, :]).flatten()  # (h * w,)
    group = (torch.arange(n, device=device)[:, None] * (gh * gw) + cell).flatten()
    # Compact the ids so that (group, id) pairs make one int64 key.
    ids, compact = torch.unique(label_maps.reshape(-1).long(), return_inverse=True)
    keys, counts = torch.unique(group * len(ids) + compact, return_counts=True)
    key_group, key_id = keys // len(ids), keys % len(ids)
    num_groups = n * gh * gw
    most = torch.zeros(num_groups, dtype=counts.dtype, device=device).scatter_reduce(
        0, key_group, counts, 'amax', include_self=False)
    # Among the ids with the most pixels, the smallest (ids are sorted).
    candidate = torch.where(counts == most[key_group], key_id,
                            torch.full_like(key_id, len(ids)))
    best = torch.full((num_groups, ), len(ids), dtype=torch.long,
                      device=device).scatter_reduce(0, key_group, candidate, 'amin')
    return ids[best].view(n, gh, gw)


def sample_mask_ids(grid_labels: Tensor, num: int,
                    generator: Optional[torch.Generator] = None) -> Tensor:
    """Draw ``num`` segment ids per map, uniformly with replacement among the ids
    present (>= 0) in it (DetCon's mask sampling).

    Args:
        grid_labels (Tensor): (N, ...) integer ids per cell; negative ids are
            never drawn.
        num (int): Ids per map.
        generator (torch.Generator, optional): Random source. Defaults to
            torch's global one.

    Returns:
        Tensor: (N, num) int64 ids; -1 for a map without any id >= 0.
    """
    flat = grid_labels.reshape(len(grid_labels), -1).long()
    ordered = flat.sort(dim=1).values
    first = torch.ones_like(ordered, dtype=torch.bool)
    first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first &= ordered >= 0
    present = first.sum(1)  # distinct ids per map
    # the distinct ids at the front of each row, in increasing order
    big = torch.iinfo(torch.long).max
    distinct = ordered.masked_fill(~first, big).sort(dim=1).values
    draw = torch.rand(len(flat), num, generator=generator,
                      device='cpu').to(flat.device)
    index = torch.minimum((draw * present[:, None]).long(),
                          (present[:, None] - 1).clamp(min=0))
    ids = distinct.gather(1, index)
    return torch.where(present[:, None] > 0, ids, torch.full_like(ids, -1))


def mask_pool(features: Tensor, grid_labels: Tensor, ids: Tensor
              ) -> Tuple[Tensor, Tensor]:
    """Mean feature of each chosen segment over the cells it covers.

    Args:
        features (Tensor): (N, C, gh, gw) feature maps.
        grid_labels (Tensor): (N, gh, gw) segment id per cell
            (:func:`label_maps_to_grid`).
        ids (Tensor): (N, K) segment ids to pool (:func:`sample_mask_ids`).

    Returns:
        tuple[Tensor, Tensor]: (N, K, C) pooled features (sum over the
        segment's cells / max(cells, 1), as DetCon) and the (N, K) number of
        cells of each segment.
    """
    masks = (grid_labels.flatten(1)[:, None, :] == ids[:, :, None]).to(
        features.dtype)  # (N, K, gh * gw)
    area = masks.sum(-1)
    pooled = masks @ features.flatten(2).transpose(1, 2)
    return pooled / area.clamp(min=1)[..., None], area
