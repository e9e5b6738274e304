from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from objcon.registry import MODELS
from ..utils import assign_scale_levels, correspondence_mask
from .base import BaseObjectSelfSupervisor

POOL_LEVELS = ('all', 'assigned')


@MODELS.register_module()
class SoCo(BaseObjectSelfSupervisor):
    """SoCo: selective object contrastive pretraining (Wei et al., NeurIPS 2021,
    https://arxiv.org/abs/2106.02637).

    For each pair of views (a, b), every box slot of each view is pooled on every
    feature level and embedded (online: trunk, projector, predictor; target:
    trunk, projector); the loss compares a's predictions with b's target
    projections of the same proposals, and the reverse, each box on the level
    assigned to it in its own view (matches may cross levels). Trunk, projector
    and predictor see each (view, pair, level) chunk as a batch of its own, as in
    the reference, which calls them once per chunk.

    The same class is SoCo-FPN (FPN neck, 4 levels) and SoCo-C4 (no neck,
    RoIAlign 14x14 on C4, res5 trunk, one level).

    Differences from the reference, all opt-in: ``pool_levels='assigned'``
    pools and embeds each box on its assigned level only, the only slot the loss
    uses (1/L of the trunk work; BN statistics then come from one chunk per
    (view, pair) holding every box on its own level); the base's
    ``level_reference_size`` scales the level thresholds for views smaller than
    224 px.

    Args:
        backbone (dict): Backbone config (mmdet's ResNet).
        embedder (dict): :class:`ObjectEmbedder` config.
        head (dict): :class:`ObjectPredictHead` config (predictor + loss).
        neck (dict, optional): mmdet's FPN (P2..P5); None for C4.
        pool_levels (str): ``'all'`` (the reference) or ``'assigned'``.
            Defaults to ``'all'``.
        **kwargs: :class:`BaseObjectSelfSupervisor` arguments (momentum, level
            thresholds, proposal generator, data preprocessor, init).
    """

    def __init__(self,
                 backbone: dict,
                 embedder: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 pool_levels: str = 'all',
                 **kwargs) -> None:
        super().__init__(backbone=backbone, neck=neck, embedder=embedder,
                         head=head, **kwargs)
        if pool_levels not in POOL_LEVELS:
            raise ValueError(f'pool_levels must be one of {POOL_LEVELS}, got '
                             f'{pool_levels!r}')
        self.pool_levels = pool_levels

    def _embed(self, branch, feats: Dict[int, Tuple[Tensor, ...]], sides: List,
               predict: bool) -> List[Tensor]:
        """Per side (view of a pair), its (N, L*K, D) slot embeddings, slot
        ``l * K + i`` = box i on level l (one level per box if assigned)."""
        assigned = self.pool_levels == 'assigned'
        chunks = []  # the reference's call order: pair, view a then b, level
        for view, boxes, levels in sides:
            chunks += branch['embedder'].pool(feats[view], boxes,
                                              levels if assigned else None)
        z = branch['embedder'].embed(chunks)
        if predict:
            z = self.head.predict(z, len(chunks))
        n, k = sides[0][1].shape[:2]
        per_side = z.view(len(sides), -1, n, k, z.shape[-1])  # (S, L, N, K, D)
        return list(per_side.transpose(1, 2).flatten(2, 3).unbind(0))

    def loss(self, inputs: List[Tensor], data_samples: Sequence
             ) -> Dict[str, Tensor]:
        """SoCo's loss over every pair of views.

        Args:
            inputs (list[Tensor]): One normalised (N, 3, H, W) batch per view.
            data_samples (Sequence): Samples carrying ``view_pairs``.

        Returns:
            dict[str, Tensor]: ``loss_pair{i}`` per pair, and for the log
            ``momentum``, ``matched_pairs`` (matched slot pairs in the batch) and
            the proposal generator's scalars.
        """
        pairs = self.view_pairs(data_samples)
        self.update_target()  # before the target forward, as the reference
        online, target = self.online_modules(), self.target
        feats = {v: self.features(online, inputs[v])[0] for v in pairs.used_views}
        with torch.no_grad():
            views = set(pairs.used_views)
            if self.proposal_generator is not None:
                views.add(self.proposal_view)
            target_out = {v: self.features(target, inputs[v]) for v in views}
            if self.proposal_generator is not None:  # the target's own boxes
                view = inputs[self.proposal_view]
                boxes = self.propose(target_out[self.proposal_view][1],
                                     [tuple(view.shape[-2:])] * len(view))
                pairs = self.view_pairs_from_proposals(boxes, data_samples, pairs)
        thresholds = self.scaled_thresholds(inputs)
        assigned = self.pool_levels == 'assigned'  # one slot per box
        num_slot_levels = 1 if assigned else self.embedder.num_levels
        sides, masks = [], []
        for p in pairs.pairs():
            levels_a = assign_scale_levels(p.boxes_a, thresholds)
            levels_b = assign_scale_levels(p.boxes_b, thresholds)
            sides += [(p.a, p.boxes_a, levels_a), (p.b, p.boxes_b, levels_b)]
            if assigned:
                levels_a, levels_b = levels_a * 0, levels_b * 0
            masks.append(correspondence_mask(p.ids_a, p.ids_b, levels_a, levels_b,
                                             num_slot_levels))
        preds = self._embed(online, feats, sides, predict=True)
        with torch.no_grad():
            projs = self._embed(target, {v: f for v, (f, _) in target_out.items()},
                                sides, predict=False)
        losses = {}
        for i, mask in enumerate(masks):
            pred_a, pred_b = preds[2 * i:2 * i + 2]
            proj_a, proj_b = projs[2 * i:2 * i + 2]
            losses[f'loss_pair{i}'] = (
                self.head.loss(pred_a, proj_b, mask) +
                self.head.loss(pred_b, proj_a, mask.transpose(1, 2)))
        scalars = dict(momentum=self.current_momentum(),
                       matched_pairs=float(sum(m.sum() for m in masks)))
        if self.proposal_generator is not None:
            scalars.update(self.proposal_generator.log_vars())
        return self.with_scalars(losses, **scalars)
