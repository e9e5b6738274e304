"""Supervised contrastive loss: every other sample of the same label is positive."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from objcon.registry import MODELS


@MODELS.register_module()
class SupConLoss(BaseModule):
    """SupCon (Khosla et al. 2020) over a set of labelled features.

    Every feature is an anchor (``contrast_mode='all'``); for anchor i with
    positives P(i) (the other features of its label) and all other features A(i),

    ``L_i = -(tau / tau_base) / |P(i)| sum_{p in P(i)} log(exp(z_i.z_p / tau) /
    sum_{a in A(i)} exp(z_i.z_a / tau))``

    with z L2-normalised; the loss is the mean over anchors that have a positive.
    PLRC's point loss: the points of one region of one image (both views) share a
    label, the points of the other images of the batch are the negatives.

    Args:
        temperature (float): tau. Defaults to 0.2 (PLRC).
        base_temperature (float): tau_base of the ``tau / tau_base`` scale.
            Defaults to 0.07 (PLRC).
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self, temperature: float = 0.2, base_temperature: float = 0.07,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if temperature <= 0 or base_temperature <= 0:
            raise ValueError('temperatures must be > 0, got '
                             f'{temperature}, {base_temperature}')
        self.temperature = float(temperature)
        self.base_temperature = float(base_temperature)
        self.loss_weight = float(loss_weight)

    def forward(self, features: Tensor, labels: Tensor) -> Tensor:
        """
        Args:
            features (Tensor): (M, D) features (normalised here).
            labels (Tensor): (M,) integer labels.

        Returns:
            Tensor: The weighted loss; 0 (in the graph) when no anchor has a
            positive.
        """
        z = F.normalize(features, dim=1)
        logits = z @ z.t() / self.temperature
        eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
        positive = (labels[:, None] == labels[None, :]) & ~eye
        logits = logits.masked_fill(eye, float('-inf'))  # never its own contrast
        log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        counts = positive.sum(1)
        has = counts > 0
        if not has.any():
            return features.sum() * 0.
        mean_pos = (log_prob.masked_fill(~positive, 0.).sum(1)[has] /
                    counts[has])
        scale = self.temperature / self.base_temperature
        return -self.loss_weight * scale * mean_pos.mean()
