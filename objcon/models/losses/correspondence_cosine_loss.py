import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from objcon.registry import MODELS


@MODELS.register_module()
class CorrespondenceCosineLoss(BaseModule):
    """BYOL's cosine loss between corresponding object slots of two views (SoCo).

    Per image n: ``l_n = sum(q_n k_n^T * C_n) / (sum(C_n) + eps)``; the loss is
    ``-2 * mean_n(l_n) * loss_weight``. Its gradient is that of BYOL's
    ``2 - 2 cos``; values are negative (-2 when every match is perfect).

    Args:
        eps (float): Keeps images without matches at zero. Defaults to 1e-6.
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self, eps: float = 1e-6, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.eps = eps
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """
        Args:
            pred (Tensor): (N, S, D) online predictions of view a's slots.
            target (Tensor): (N, S', D) target projections of view b's slots.
            mask (Tensor): (N, S, S') correspondence (1 where slots match).

        Returns:
            Tensor: Scalar loss.
        """
        pred = F.normalize(pred, dim=-1)
        target = F.normalize(target, dim=-1)
        sim = pred @ target.transpose(1, 2)
        per_image = (sim * mask).sum((1, 2)) / (mask.sum((1, 2)) + self.eps)
        return -2 * per_image.mean() * self.loss_weight
