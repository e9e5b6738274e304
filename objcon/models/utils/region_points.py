"""Points sampled in the regions of label maps, and features read at them."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def sample_common_region_points(maps_a: Tensor, maps_b: Tensor, num_points: int,
                                generator: Optional[torch.Generator] = None
                                ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per image, one region present in both label maps and points inside it.

    The region is drawn uniformly among the labels that occur in both maps;
    ``num_points`` pixels of it are drawn uniformly with replacement in each map.
    A point is the centre of its pixel, ``(x, y) = (col + 0.5, row + 0.5)`` in
    the map's pixel units (x along the width).

    Args:
        maps_a (Tensor): (B, h, w) integer labels of the first view.
        maps_b (Tensor): (B, h', w') integer labels of the second view.
        num_points (int): Points per image and view.
        generator (torch.Generator, optional): Source of the draws. Defaults to
            torch's global generator.

    Returns:
        tuple[Tensor, Tensor, Tensor, Tensor]: ``points_a`` and ``points_b``
        ((B, num_points, 2) float32 (x, y)), ``regions`` ((B,) int64 label, -1
        where none is common) and ``valid`` ((B,) bool: a common region exists;
        the points of an invalid image are (0.5, 0.5) and must not be used).
    """
    if maps_a.shape[0] != maps_b.shape[0]:
        raise ValueError(f'{maps_a.shape[0]} and {maps_b.shape[0]} label maps')
    device = maps_a.device
    batch = maps_a.shape[0]
    points = [torch.full((batch, num_points, 2), 0.5, device=device)
              for _ in range(2)]
    regions = torch.full((batch, ), -1, dtype=torch.long, device=device)
    for i in range(batch):
        common = _intersect_sorted(torch.unique(maps_a[i]), torch.unique(maps_b[i]))
        if common.numel() == 0:
            continue
        pick = int(torch.randint(common.numel(), (1, ), generator=generator))
        regions[i] = common[pick]
        for out, labels in zip(points, (maps_a[i], maps_b[i])):
            rows, cols = torch.nonzero(labels == regions[i], as_tuple=True)
            idx = torch.randint(rows.numel(), (num_points, ),
                                generator=generator).to(device)
            out[i, :, 0] = cols[idx].float() + 0.5
            out[i, :, 1] = rows[idx].float() + 0.5
    return points[0], points[1], regions, regions >= 0


def _intersect_sorted(a: Tensor, b: Tensor) -> Tensor:
    """Values present in both sorted unique tensors."""
    return a[torch.isin(a, b)]


def features_at_points(feats: Tensor, points: Tensor,
                       map_hw: Tuple[int, int]) -> Tensor:
    """Bilinear samples of feature maps at points given on a label map.

    The label map (h, w) and the feature map cover the same view, so point
    ``(x, y)`` of the map is at ``(x W / w, y H / h)`` on an (H, W) feature map
    (pixel centres at +0.5, ``align_corners=False``); beyond the outermost
    centres the border value is used.

    Args:
        feats (Tensor): (B, C, H, W) features.
        points (Tensor): (B, P, 2) (x, y) in the label map's pixel units.
        map_hw (tuple[int, int]): (h, w) of the label map.

    Returns:
        Tensor: (B, P, C).
    """
    h, w = map_hw
    grid = torch.stack([points[..., 0] / w * 2 - 1, points[..., 1] / h * 2 - 1],
                       dim=-1).to(feats.dtype)
    sampled = F.grid_sample(feats, grid.unsqueeze(1), mode='bilinear',
                            padding_mode='border', align_corners=False)
    return sampled.squeeze(2).transpose(1, 2)
