"""Which positions of two views' dense maps show nearby parts of the image."""
from typing import Tuple

import torch
from torch import Tensor


def position_centres(crops: Tensor, flips: Tensor,
                     map_hw: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
    """Image-space centres of the positions of an (h, w) map over each view.

    Args:
        crops (Tensor): (B, 4) each view's crop xyxy on the original image.
        flips (Tensor): (B,) bool, whether each view is mirrored.
        map_hw (tuple[int, int]): (h, w) of the map.

    Returns:
        tuple[Tensor, Tensor]: (B, h*w, 2) centres (x, y), row-major positions,
        and (B,) the diagonal of one map cell on the image.
    """
    h, w = map_hw
    crops = crops.float()
    bin_w = (crops[:, 2] - crops[:, 0]) / w
    bin_h = (crops[:, 3] - crops[:, 1]) / h
    cols = torch.arange(w, device=crops.device, dtype=crops.dtype) + 0.5
    rows = torch.arange(h, device=crops.device, dtype=crops.dtype) + 0.5
    cx = crops[:, 0, None] + cols[None] * bin_w[:, None]  # (B, w)
    # a mirrored view's column c shows the crop's column w - 1 - c
    cx_flipped = crops[:, 2, None] - cols[None] * bin_w[:, None]
    cx = torch.where(flips.bool()[:, None], cx_flipped, cx)
    cy = crops[:, 1, None] + rows[None] * bin_h[:, None]  # (B, h)
    centres = torch.stack([cx[:, None, :].expand(-1, h, -1),
                           cy[:, :, None].expand(-1, -1, w)], dim=-1)
    return centres.reshape(crops.shape[0], h * w, 2), torch.hypot(bin_w, bin_h)


def close_position_pairs(crops_a: Tensor, flips_a: Tensor, crops_b: Tensor,
                         flips_b: Tensor, map_hw: Tuple[int, int],
                         max_distance: float = 0.5) -> Tuple[Tensor, Tensor, Tensor]:
    """Pairs of positions of two views whose image-space centres are close.

    Positions i of view a and j of view b (same image) pair when the distance of
    their centres on the original image is below ``max_distance`` times the
    larger of the two views' cell diagonals (PixPro's and PLRC's rule; here the
    centres account for flips).

    Args:
        crops_a (Tensor): (B, 4) crops of view a.
        flips_a (Tensor): (B,) flips of view a.
        crops_b (Tensor): (B, 4) crops of view b.
        flips_b (Tensor): (B,) flips of view b.
        map_hw (tuple[int, int]): (h, w) of both views' maps.
        max_distance (float): In cell diagonals. Defaults to 0.5.

    Returns:
        tuple[Tensor, Tensor, Tensor]: (M,) image index, position in a and
        position in b of each pair.
    """
    centres_a, diag_a = position_centres(crops_a, flips_a, map_hw)
    centres_b, diag_b = position_centres(crops_b, flips_b, map_hw)
    dist = torch.cdist(centres_a, centres_b)  # (B, hw, hw)
    close = dist < max_distance * torch.maximum(diag_a, diag_b)[:, None, None]
    return torch.nonzero(close, as_tuple=True)
