"""CCOP's intra-image object discrimination: a margin between an image's objects."""
from typing import Optional

import torch
from mmdet.structures.bbox import bbox_overlaps
from mmengine.model import BaseModule
from torch import Tensor

from objcon.registry import MODELS


@MODELS.register_module()
class IntraImageMarginLoss(BaseModule):
    """Mean ``relu(S_ab - S_bb + margin)`` over box pairs of one image that do
    not overlap.

    ``S_ab`` is the similarity of the query embedding of box a with the key
    embedding of box b (same image). For every ordered pair (a, b) of valid
    boxes with ``IoU(a, b) < max_iou`` (IoU of the key view's boxes), b's key
    should be closer to b's query than to a's by ``margin``. The mean runs over
    all such pairs of the batch; a batch without one gives 0 (the reference
    divides by zero there and returns NaN).

    Args:
        margin (float): Defaults to 0.4 (CCOP).
        max_iou (float): Pairs with a smaller IoU count. Defaults to 0.05.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self, margin: float = 0.4, max_iou: float = 0.05,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.margin = float(margin)
        self.max_iou = float(max_iou)
        self.loss_weight = float(loss_weight)

    def forward(self, sims: Tensor, boxes: Tensor,
                valid: Optional[Tensor] = None) -> Tensor:
        """
        Args:
            sims (Tensor): (N, K, K) ``S[n, a, b]``: query of box a . key of box
                b, image n.
            boxes (Tensor): (N, K, 4) the key view's boxes (xyxy).
            valid (Tensor, optional): (N, K) bool, the slots that are real boxes
                (not padding). Defaults to all.

        Returns:
            Tensor: The weighted mean; 0 (in the graph) without a valid pair.
        """
        n, k = sims.shape[:2]
        if valid is None:
            valid = torch.ones(n, k, dtype=torch.bool, device=sims.device)
        iou = bbox_overlaps(boxes, boxes)  # (N, K, K)
        pairs = (iou < self.max_iou) & valid[:, :, None] & valid[:, None, :]
        positive = sims.diagonal(dim1=1, dim2=2)  # S_bb: (N, K) over b
        hinge = (sims - positive[:, None, :] + self.margin).clamp(min=0)
        count = pairs.sum()
        total = (hinge * pairs).sum()
        return self.loss_weight * total / count.clamp(min=1)
