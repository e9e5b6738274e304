"""InfoNCE with one positive per query and a shared set of negatives."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from objcon.registry import MODELS


@MODELS.register_module()
class InfoNCELoss(BaseModule):
    """MoCo's contrastive loss: ``-log softmax(logits / tau)[positive]``.

    For query q, its positive k+ and negatives n_j (all L2-normalised here),
    the logits are ``(q . k+, q . n_1, ..., q . n_M)``; the loss is the mean
    cross entropy with the positive as the target.

    Args:
        temperature (float): tau. Defaults to 0.2 (CCOP).
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self, temperature: float = 0.2, loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.temperature = float(temperature)
        self.loss_weight = float(loss_weight)

    def forward(self, query: Tensor, positive: Tensor,
                negatives: Tensor) -> Tensor:
        """
        Args:
            query (Tensor): (N, D) queries.
            positive (Tensor): (N, D) the positive of each query.
            negatives (Tensor): (M, D) negatives shared by all queries (e.g. a
                :class:`~objcon.models.utils.FeatureQueue`'s ``features``).

        Returns:
            Tensor: The weighted mean loss; 0 (in the graph) when N is 0.
        """
        if query.shape[0] == 0:
            return query.sum() * 0.
        q = F.normalize(query, dim=1)
        pos = (q * F.normalize(positive, dim=1)).sum(1, keepdim=True)
        neg = q @ F.normalize(negatives, dim=1).t()
        logits = torch.cat([pos, neg], 1) / self.temperature
        target = logits.new_zeros(logits.shape[0], dtype=torch.long)
        return self.loss_weight * F.cross_entropy(logits, target)

