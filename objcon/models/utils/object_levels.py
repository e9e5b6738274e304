"""Scale-aware level assignment and cross-view correspondence of object slots."""
from typing import Optional, Sequence

import torch
from torch import Tensor

# SoCo's upper bounds of P2, P3, P4 (and P5) for boxes in 224-px views.
SOCO_LEVEL_THRESHOLDS = (48, 96, 192, 224)


def assign_scale_levels(boxes: Tensor,
                        thresholds: Optional[Sequence[float]]) -> Tensor:
    """SoCo's scale-aware level of each box.

    ``s = sqrt(w * h)`` in the view's pixels; the level is the first ``l`` with
    ``thresholds[l] >= s``, and the last level for larger boxes. SoCo-FPN uses
    thresholds (48, 96, 192, 224) over P2..P5 (a box of side 224 or more goes to
    P5 either way): :data:`SOCO_LEVEL_THRESHOLDS`. This differs from mmdet's ``SingleRoIExtractor`` rule
    (``finest_scale=56``).

    Args:
        boxes (Tensor): (..., 4) pixel xyxy boxes.
        thresholds (Sequence[float], optional): Upper size bound of each level
            but the last. None (single-level encoders, e.g. C4): every box gets
            level 0.

    Returns:
        Tensor: (...) int64 levels.
    """
    if not thresholds:
        return boxes.new_zeros(boxes.shape[:-1], dtype=torch.long)
    wh = (boxes[..., 2:] - boxes[..., :2]).clamp(min=0)
    scale = (wh[..., 0] * wh[..., 1]).sqrt()
    bounds = torch.as_tensor(list(thresholds), dtype=scale.dtype,
                             device=scale.device)
    # number of bounds strictly below s == index of the first bound >= s
    level = (scale.unsqueeze(-1) > bounds).sum(-1)
    return level.clamp(max=len(thresholds) - 1)


def correspondence_mask(ids_a: Tensor, ids_b: Tensor, levels_a: Tensor,
                        levels_b: Tensor, num_levels: int) -> Tensor:
    """Which (box, level) slots of view a match which slots of view b.

    Slots are ordered level-major: slot ``l * K + i`` is box ``i`` pooled on level
    ``l``. Slot (i, l) of a matches slot (j, m) of b iff boxes i and j come from
    the same proposal (equal ids), l is box i's level in a and m is box j's level
    in b. Matches may cross levels; padded duplicates (repeated ids) match each
    other's partners.

    Args:
        ids_a (Tensor): (N, K) proposal ids of view a's boxes.
        ids_b (Tensor): (N, K) proposal ids of view b's boxes.
        levels_a (Tensor): (N, K) levels of view a's boxes.
        levels_b (Tensor): (N, K) levels of view b's boxes.
        num_levels (int): L.

    Returns:
        Tensor: (N, L*K, L*K) float mask.
    """
    same = ids_a.unsqueeze(2) == ids_b.unsqueeze(1)  # (N, K, K)
    lv = torch.arange(num_levels, device=ids_a.device)
    on_a = levels_a.unsqueeze(1) == lv.view(1, -1, 1)  # (N, L, K)
    on_b = levels_b.unsqueeze(1) == lv.view(1, -1, 1)
    # (N, L, K, L, K): [n, l, i, m, j]
    mask = (on_a[:, :, :, None, None] & on_b[:, None, None, :, :]
            & same[:, None, :, None, :])
    n, k = ids_a.shape
    return mask.reshape(n, num_levels * k, num_levels * k).float()
