from math import cos, pi
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from torch import Tensor, nn

from objcon.models.utils import (ForeachCosineEMA, assign_scale_levels,
                                 correspondence_mask, grouped_batch_norm,
                                 pair_boxes_from_view,
                                 supports_grouped_batch_norm)
from objcon.registry import MODELS, PROPOSAL_SOURCES

PairBoxes = Tuple[int, int, Tensor, Tensor, Tensor]
POOL_LEVELS = ('all', 'assigned')


def _field(pair, name: str):
    return pair[name] if isinstance(pair, dict) else getattr(pair, name)


def gather_view_pairs(data_samples: Sequence,
                      device: Optional[torch.device] = None) -> List[PairBoxes]:
    """Batch the ``view_pairs`` of each sample (see docs/boxes.md).

    Args:
        data_samples (Sequence): Samples whose ``view_pairs`` is a list of
            ``InstanceData`` (from ``PackObjectViews``) or dicts.
        device (torch.device, optional): Where the boxes go (tensors held in a
            list are not moved by the data preprocessor).

    Returns:
        list[tuple]: Per pair ``(a, b, boxes_a (N, K, 4), boxes_b (N, K, 4),
        ids (N, K))``.
    """
    if not data_samples:
        raise ValueError('SoCo needs data samples carrying view_pairs')
    per_sample = [ds.view_pairs for ds in data_samples]
    num_pairs = len(per_sample[0])
    if any(len(p) != num_pairs for p in per_sample):
        raise ValueError('every sample must carry the same number of view pairs')
    pairs = []
    for i in range(num_pairs):
        views = {tuple(int(v) for v in _field(p[i], 'views')) for p in per_sample}
        if len(views) != 1:
            raise ValueError(f'pair {i} joins different views across the batch: '
                             f'{sorted(views)}')
        a, b = views.pop()
        stacked = [
            torch.stack([torch.as_tensor(_field(p[i], key)) for p in per_sample])
            .to(device) for key in ('boxes_a', 'boxes_b', 'ids')
        ]
        pairs.append((a, b, *stacked))
    return pairs


@MODELS.register_module()
class SoCo(BaseModel):
    """SoCo: selective object contrastive pretraining (Wei et al., NeurIPS 2021).

    Online branch: backbone -> neck -> every box pooled on every level ->
    trunk -> projector -> predictor (in ``head``); target branch: an EMA copy of
    backbone, neck, trunk and projector. For each pair of views (a, b) the loss
    compares a's predictions with b's target projections of the same proposals,
    and the reverse, on the level each box is assigned to in its own view (matches
    may cross levels). Trunk, projector and predictor see each (view, pair,
    level) chunk as a batch of its own: their BN statistics are per chunk, as in
    the reference, which calls them once per chunk. objcon runs all chunks of a
    branch in one call with per-chunk BN (:func:`grouped_batch_norm`, same
    outputs, gradients and running stats), or, with SyncBN or
    ``batched_embed=False``, once per chunk.

    ``pool_levels='assigned'`` is an opt-in deviation from the reference: each box
    is pooled and embedded only on the level it is assigned to in its view, the
    only slot the loss mask ever uses, so the trunk runs on 1/L of the slots.
    The loss terms are the same; what changes is BN: the statistics of the
    trunk/projector/predictor come from one chunk per (view, pair) holding every
    box on its own level, instead of from every box on one level. With BN in eval
    mode both modes give the same loss.

    The same class is SoCo-FPN (neck=FPN, 4 levels) and SoCo-C4 (no neck, RoIAlign
    14x14 on C4, res5 trunk, one level).

    Args:
        backbone (dict): Backbone config (mmdet's ResNet).
        neck (dict, optional): Neck config (mmdet's FPN, P2..P5); None for C4.
        roi_align (dict): :class:`MultiLevelRoIAlign` config.
        trunk (dict): Object trunk config (:class:`SharedConvFCTrunk` or
            :class:`ResLayerTrunk`).
        projector (dict): Projector MLP config.
        head (dict): :class:`ObjectPredictHead` config (predictor + loss).
        level_thresholds (Sequence[float], optional): Scale-aware level bounds
            (:func:`assign_scale_levels`). Defaults to (48, 96, 192, 224).
        base_momentum (float): tau at iteration 0 of the cosine EMA schedule
            ``tau(k) = 1 - (1 - base) (cos(pi k / K) + 1) / 2``. Defaults to 0.99.
        pool_levels (str): ``'all'`` (the reference): every box on every level;
            ``'assigned'``: every box on its assigned level only (faster; BN
            statistics differ, see above). Defaults to ``'all'``.
        batched_embed (bool): Run the trunk/projector/predictor once per branch
            over all chunks with per-chunk BN statistics (exact, faster). False
            (or SyncBN anywhere in them): one call per chunk. Defaults to True.
        proposal_source (dict, optional): An in-model proposal source
            (``PROPOSAL_SOURCES``, a :class:`BaseBatchProposalSource` such as
            :class:`~objcon.proposals.HeatMapProposals`) called on the target
            network's last backbone level (C5) of view ``proposal_view``; its
            boxes replace the pipeline's ``view_pairs`` boxes (docs/heatmap.md).
            The samples must carry ``view_params``. Defaults to None (boxes from
            the pipeline).
        proposal_view (int): The view the source proposes on. Defaults to 0 (V1).
        pair_boxes (dict, optional): How in-model boxes become each pair's slots:
            keyword arguments of :func:`pair_boxes_from_view` (``num_boxes``,
            ``min_visible_fraction``, ``min_area``, ``jitter``). Defaults to
            ``dict(num_boxes=4)``.
        data_preprocessor (dict, optional): Normalises each view.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 roi_align: dict,
                 trunk: dict,
                 projector: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 level_thresholds: Optional[Sequence[float]] = (48, 96, 192, 224),
                 base_momentum: float = 0.99,
                 pool_levels: str = 'all',
                 batched_embed: bool = True,
                 proposal_source: Optional[dict] = None,
                 proposal_view: int = 0,
                 pair_boxes: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='mmpretrain.SelfSupDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.roi_align = MODELS.build(roi_align)
        self.trunk = MODELS.build(trunk)
        self.projector = MODELS.build(projector)
        self.head = MODELS.build(head)
        self.level_thresholds = tuple(level_thresholds) if level_thresholds else None
        if self.level_thresholds and \
                len(self.level_thresholds) != self.roi_align.num_levels:
            raise ValueError(
                f'{len(self.level_thresholds)} level thresholds for '
                f'{self.roi_align.num_levels} feature levels')
        if not 0 <= base_momentum < 1:
            raise ValueError(f'base_momentum must be in [0, 1), got {base_momentum}')
        self.base_momentum = base_momentum
        if pool_levels not in POOL_LEVELS:
            raise ValueError(f'pool_levels must be one of {POOL_LEVELS}, got '
                             f'{pool_levels!r}')
        self.pool_levels = pool_levels
        self.batched_embed = batched_embed
        # mmpretrain's CosineEMA (here its foreach version) weighs the *new*
        # value: m = 1 - tau.
        self.target_net = ForeachCosineEMA(
            self._online_modules(), momentum=1 - base_momentum, end_momentum=0.)
        self.proposal_source = PROPOSAL_SOURCES.build(proposal_source) \
            if proposal_source is not None else None
        self.proposal_view = int(proposal_view)
        self.pair_boxes = dict(num_boxes=4)
        self.pair_boxes.update(pair_boxes or {})

    def _online_modules(self) -> nn.ModuleDict:
        mods = dict(backbone=self.backbone, trunk=self.trunk,
                    projector=self.projector)
        if self.neck is not None:
            mods['neck'] = self.neck
        return nn.ModuleDict(mods)

    @property
    def num_levels(self) -> int:
        return self.roi_align.num_levels

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Backbone (+ neck) features of a batch of images."""
        return self._features(self._online_modules(), inputs)

    @staticmethod
    def _features(modules: nn.ModuleDict, inputs: Tensor) -> Tuple[Tensor, ...]:
        x = modules['backbone'](inputs)
        if 'neck' in modules:
            x = modules['neck'](x)
        return tuple(x)

    def _embed_pairs(self, modules: nn.ModuleDict,
                     feats: Dict[int, Sequence[Tensor]], pairs: List[PairBoxes],
                     levels: List[Tuple[Tensor, Tensor]],
                     predict: bool) -> List[Tuple[Tensor, Tensor]]:
        """Slot embeddings of both views of every pair, for one branch.

        Args:
            modules (nn.ModuleDict): The branch (online or target).
            feats (dict[int, Sequence[Tensor]]): Per view, its feature levels.
            pairs (list[tuple]): From :func:`gather_view_pairs`.
            levels (list[tuple[Tensor, Tensor]]): Per pair, the (N, K) levels of
                view a's and view b's boxes.
            predict (bool): Apply the predictor (online branch).

        Returns:
            list[tuple[Tensor, Tensor]]: Per pair, view a's and view b's slot
            embeddings: (N, L*K, D) level-major (slot ``l * K + i`` is box i on
            level l) for ``pool_levels='all'``, (N, K, D) for ``'assigned'``.
        """
        assigned = self.pool_levels == 'assigned'
        sides = [(v, boxes, lv)
                 for (a, b, boxes_a, boxes_b, _), (lv_a, lv_b) in zip(pairs, levels)
                 for v, boxes, lv in ((a, boxes_a, lv_a), (b, boxes_b, lv_b))]
        # chunks in the reference's call order: pair, view a then b, level
        chunks = []
        for v, boxes, lv in sides:
            n, k = boxes.shape[:2]
            index = torch.arange(n, device=boxes.device, dtype=boxes.dtype)
            rois = torch.cat([index.repeat_interleave(k)[:, None],
                              boxes.reshape(-1, 4)], 1)
            if assigned:
                chunks.append(self.roi_align(feats[v], rois, lv.reshape(-1)))
            else:
                chunks.extend(self.roi_align(feats[v], rois))
        out = self._embed_chunks(modules, chunks, predict)
        per_side = len(chunks) // len(sides)
        embedded = [
            torch.cat([z.view(*boxes.shape[:2], -1)
                       for z in out[i * per_side:(i + 1) * per_side]], 1)
            for i, (_, boxes, _) in enumerate(sides)
        ]
        return list(zip(embedded[0::2], embedded[1::2]))

    def _embed_chunks(self, modules: nn.ModuleDict, chunks: List[Tensor],
                      predict: bool) -> List[Tensor]:
        """Trunk -> projector (-> predictor) of each chunk, BN stats per chunk.

        Args:
            modules (nn.ModuleDict): The branch (online or target).
            chunks (list[Tensor]): Pooled (R_i, C, S, S) features.
            predict (bool): Apply the predictor.

        Returns:
            list[Tensor]: Per chunk, (R_i, D) embeddings.
        """
        nets = nn.ModuleList([modules['trunk'], modules['projector']] +
                             ([self.head.predictor] if predict else []))

        def run(x: Tensor) -> Tensor:
            z = modules['projector']((modules['trunk'](x), ))[0]
            return self.head.predict(z) if predict else z

        same_size = len({c.shape[0] for c in chunks}) == 1
        # checked per call: the Runner may have converted BN to SyncBN
        if (self.batched_embed and len(chunks) > 1 and same_size
                and supports_grouped_batch_norm(nets)):
            with grouped_batch_norm(nets, len(chunks)):
                return list(run(torch.cat(chunks)).chunk(len(chunks)))
        return [run(c) for c in chunks]

    def _slot_mask(self, ids: Tensor, levels_a: Tensor,
                   levels_b: Tensor) -> Tensor:
        """Correspondence of view a's slots with view b's (see ``_embed_pairs``)."""
        if self.pool_levels == 'assigned':
            # one slot per box, on its own level: slots match iff same proposal
            one = torch.zeros_like(levels_a)
            return correspondence_mask(ids, ids, one, one, 1)
        return correspondence_mask(ids, ids, levels_a, levels_b, self.num_levels)

    def _target_features(self, target: nn.ModuleDict, inputs: List[Tensor],
                         used: Sequence[int]) -> Tuple[dict, Optional[Tensor]]:
        """Target features of the used views, and the target C5 of
        ``proposal_view`` when a proposal source needs it (no extra forward)."""
        if self.proposal_source is None:
            return {v: self._features(target, inputs[v]) for v in used}, None
        feats, c5 = {}, None
        for v in sorted(set(used) | {self.proposal_view}):
            x = target['backbone'](inputs[v])
            if v == self.proposal_view:
                c5 = x[-1]
            if v in used:
                feats[v] = tuple(target['neck'](x)) if 'neck' in target \
                    else tuple(x)
        return feats, c5

    def proposal_pairs(self, c5: Tensor, inputs: List[Tensor],
                       data_samples: Sequence,
                       pairs: List[PairBoxes]) -> List[PairBoxes]:
        """Replace the pipeline's boxes by the proposal source's.

        Args:
            c5 (Tensor): Target C5 of ``proposal_view`` (N, C, h, w).
            inputs (list[Tensor]): The views' batches.
            data_samples (Sequence): Samples with ``view_params`` metainfo.
            pairs (list[tuple]): :func:`gather_view_pairs`' output (only the view
                indices are kept).

        Returns:
            list[tuple]: Same form, boxes from the source (docs/heatmap.md).
        """
        view = inputs[self.proposal_view]
        shapes = [tuple(view.shape[-2:])] * view.shape[0]
        with torch.no_grad():
            found = self.proposal_source(c5, shapes)
        views = [(a, b) for a, b, *_ in pairs]
        per_sample = [
            pair_boxes_from_view(boxes.cpu().numpy(), self.proposal_view,
                                 ds.metainfo['view_params'], views,
                                 **self.pair_boxes)
            for boxes, ds in zip(found, data_samples)
        ]
        device = view.device
        out = []
        for i, (a, b) in enumerate(views):
            stacked = [torch.from_numpy(np.stack([s[i][j] for s in per_sample]))
                       .to(device) for j in range(3)]
            out.append((a, b, *stacked))
        return out

    def current_momentum(self) -> float:
        """tau of the latest EMA update (k = updates so far - 1)."""
        k = max(int(self.target_net.steps) - 1, 0)
        max_iters = MessageHub.get_current_instance().get_info('max_iters')
        if not max_iters:
            return self.base_momentum
        return 1 - (1 - self.base_momentum) * (cos(pi * k / max_iters) + 1) / 2

    def loss(self, inputs: List[Tensor], data_samples: Sequence) -> Dict[str, Tensor]:
        """SoCo's loss over every configured pair of views.

        Args:
            inputs (list[Tensor]): One normalised (N, 3, H, W) batch per view.
            data_samples (Sequence): Samples carrying ``view_pairs``.

        Returns:
            dict[str, Tensor]: ``loss_pair{i}`` per pair, plus ``momentum`` and
            ``matched_pairs`` (matched slot pairs in the batch) for the log.
        """
        pairs = gather_view_pairs(data_samples, inputs[0].device)
        online = self._online_modules()
        # EMA before the target forward of this iteration, as the reference.
        self.target_net.update_parameters(online)
        target = self.target_net.module

        used = sorted({v for a, b, *_ in pairs for v in (a, b)})
        feats = {v: self._features(online, inputs[v]) for v in used}
        with torch.no_grad():
            target_feats, c5 = self._target_features(target, inputs, used)
        if self.proposal_source is not None:  # boxes from the target's own C5
            pairs = self.proposal_pairs(c5, inputs, data_samples, pairs)

        levels, masks = [], []
        for a, b, boxes_a, boxes_b, ids in pairs:
            levels_a = assign_scale_levels(boxes_a, self.level_thresholds)
            levels_b = assign_scale_levels(boxes_b, self.level_thresholds)
            levels.append((levels_a, levels_b))
            masks.append(self._slot_mask(ids, levels_a, levels_b))
        preds = self._embed_pairs(online, feats, pairs, levels, predict=True)
        with torch.no_grad():
            projs = self._embed_pairs(target, target_feats, pairs, levels,
                                      predict=False)

        losses, matched = {}, 0.
        for i, mask in enumerate(masks):
            (pred_a, pred_b), (proj_a, proj_b) = preds[i], projs[i]
            losses[f'loss_pair{i}'] = (
                self.head.loss(pred_a, proj_b, mask) +
                self.head.loss(pred_b, proj_a, mask.transpose(1, 2)))
            matched += float(mask.sum())
        ref = next(iter(losses.values()))
        losses['momentum'] = ref.new_tensor(self.current_momentum())
        losses['matched_pairs'] = ref.new_tensor(matched)
        if self.proposal_source is not None and \
                hasattr(self.proposal_source, 'in_warmup'):
            losses['proposal_warmup'] = ref.new_tensor(
                float(self.proposal_source.in_warmup()))
        return losses

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            if isinstance(inputs, (list, tuple)):
                inputs = inputs[0]
            return self.extract_feat(inputs)
        raise RuntimeError(f'SoCo is a pretraining algorithm: mode {mode!r} is not '
                           "supported (use 'loss' or 'tensor')")
