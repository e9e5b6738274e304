"""DetCon's multi-positive NCE between the masks of two views."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_rank, get_world_size
from mmengine.model import BaseModule
from torch import Tensor

from objcon.registry import MODELS

# Added to the logits of masked-out slots (finite: 0 x log-prob must stay 0).
_MASKED = -1e9


@MODELS.register_module()
class MultiPositiveNCELoss(BaseModule):
    """Contrast each mask of one view with every mask of both views of all images.

    For the online prediction of slot k of image b in view a (one sampled mask
    id per slot), with L2-normalised vectors and temperature tau:

    * candidates: the target vectors of every slot of every image of the global
      batch (all ranks, gathered) in view b, then in view a;
    * positives: the view-b target slots of the same image whose mask id equals
      the slot's id (several when the id was drawn more than once; the target
      distribution spreads evenly over them);
    * the view-a target slots of the same image with the same id (the slot's own
      target and its duplicates) are removed from the candidates;
    * the slot's cross entropy is weighted by ``has_positive / d``, d the number
      of view-a slots of the image drawn with the same id, so that a mask drawn
      d times counts once and a mask absent from view b not at all.

    The loss is the mean weighted cross entropy over all B x K slots of view a,
    plus the same with the views swapped (DetCon-B's symmetrised loss, as the
    reference's ``byol_nce_detcon``). Ids < 0 (no mask) have no positive.

    Args:
        temperature (float): tau. Defaults to 0.1.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        gather (bool): Take the negatives from every rank's batch when
            distributed. Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self, temperature: float = 0.1, loss_weight: float = 1.0,
                 gather: bool = True, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.temperature = float(temperature)
        self.loss_weight = float(loss_weight)
        self.gather = gather

    def _gathered(self, target: Tensor) -> Tuple[Tensor, int]:
        """All ranks' targets (N_total, K, D) and this rank's first row."""
        if not self.gather or get_world_size() == 1:
            return target, 0
        return torch.cat(all_gather(target.contiguous())), get_rank() * len(target)

    def _one_direction(self, pred: Tensor, ids: Tensor, same_all: Tensor,
                       other_all: Tensor, other_ids: Tensor, offset: int) -> Tensor:
        batch, slots = ids.shape
        own = torch.zeros(batch, other_all.shape[0], dtype=torch.bool,
                          device=pred.device)
        own[torch.arange(batch), offset + torch.arange(batch)] = True
        own = own[:, None, :, None]  # (B, 1, N, 1)
        valid = (ids >= 0)[:, :, None]
        same_view = (ids[:, :, None] == ids[:, None, :])[:, :, None]  # (B,K,1,K)
        positive = (valid & (ids[:, :, None] == other_ids[:, None, :]))[:, :, None]
        logits_other = torch.einsum('bkd,nld->bknl', pred, other_all)
        logits_same = torch.einsum('bkd,nld->bknl', pred, same_all)
        logits_same = logits_same.masked_fill(own & same_view, _MASKED *
                                              self.temperature)
        logits = torch.cat([logits_other, logits_same], 2).reshape(
            batch, slots, -1) / self.temperature
        labels = torch.cat([own & positive,
                            torch.zeros_like(logits_same, dtype=torch.bool)],
                           2).reshape(batch, slots, -1).to(logits.dtype)
        num_positive = labels.sum(-1)
        labels = labels / num_positive.clamp(min=1)[..., None]
        duplicates = same_view[:, :, 0].sum(-1).to(logits.dtype)
        weight = (num_positive > 0).to(logits.dtype) / duplicates
        loss = -(labels * F.log_softmax(logits, -1)).sum(-1) * weight
        return loss.mean()

    def forward(self, pred_a: Tensor, pred_b: Tensor, target_a: Tensor,
                target_b: Tensor, ids_a: Tensor, ids_b: Tensor) -> Tensor:
        """
        Args:
            pred_a (Tensor): (B, K, D) online predictions of view a's masks.
            pred_b (Tensor): (B, K, D) those of view b.
            target_a (Tensor): (B, K, D) target projections of view a's masks
                (no gradient flows into them).
            target_b (Tensor): (B, K, D) those of view b.
            ids_a (Tensor): (B, K) the mask id of each slot of view a (the same
                for prediction and target).
            ids_b (Tensor): (B, K) those of view b.

        Returns:
            Tensor: The weighted symmetrised loss.
        """
        pred_a, pred_b = (F.normalize(p.float(), dim=-1) for p in (pred_a, pred_b))
        with torch.no_grad():
            target_a, target_b = (F.normalize(t.detach().float(), dim=-1)
                                  for t in (target_a, target_b))
            all_a, offset = self._gathered(target_a)
            all_b, _ = self._gathered(target_b)
        loss = (self._one_direction(pred_a, ids_a, all_a, all_b, ids_b, offset) +
                self._one_direction(pred_b, ids_b, all_b, all_a, ids_a, offset))
        return self.loss_weight * loss
