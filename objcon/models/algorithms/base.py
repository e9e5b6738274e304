"""The base of object-level self-supervised algorithms."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmpretrain.models.selfsup import BaseSelfSupervisor
from torch import Tensor, nn

from objcon.registry import MODELS, PROPOSAL_GENERATORS
from objcon.structures import PairSlotSampler, ViewPairs, view_pairs_from_boxes
from ..utils import SOCO_LEVEL_THRESHOLDS, ForeachCosineEMA

TransferMap = Dict[str, List[Tuple[str, str]]]


class BaseObjectSelfSupervisor(BaseSelfSupervisor):
    """Backbone (+ neck) + object embedder + head, with an EMA target network.

    What object-level methods share, on mmpretrain's ``BaseSelfSupervisor``
    (forward dispatch, ``extract_feat``, ``with_neck``):

    * the online modules ``backbone``, ``neck`` (optional) and ``embedder``
      (:class:`~objcon.models.roi.ObjectEmbedder`: RoI pooling, trunk,
      projector), and ``head`` (predictor and loss);
    * the target network: an EMA copy of the online modules (parameters
      averaged, BN buffers copied) with one cosine schedule of the momentum,
      ``tau(k) = end - (end - base) (cos(pi k / K) + 1) / 2`` over the K training
      iterations (:meth:`update_target`, :meth:`current_momentum`);
    * the batch's :class:`~objcon.structures.ViewPairs` (:meth:`view_pairs`);
    * scale-aware feature levels of boxes (SoCo's rule, :meth:`scaled_thresholds`,
      used with :func:`~objcon.models.utils.assign_scale_levels`);
    * optional in-model proposals: a ``PROPOSAL_GENERATORS`` generator on the
      target backbone's last level of one view, whose boxes replace the
      pipeline's (:meth:`propose`, :meth:`view_pairs_from_proposals`);
    * the transfer map the converter reads (:meth:`transfer_map`).

    A method subclasses it and implements ``loss`` (see
    :class:`~objcon.models.algorithms.SoCo` and docs/architecture.md).

    Args:
        backbone (dict): Backbone config (mmdet's ResNet).
        neck (dict, optional): Neck config (mmdet's FPN); None: no neck.
        embedder (dict, optional): :class:`ObjectEmbedder` config.
        head (dict, optional): Head config (predictor + loss).
        base_momentum (float): tau at iteration 0. Defaults to 0.99.
        end_momentum (float): tau at the last iteration. Defaults to 1.0.
        proposal_generator (dict, optional): In-model generator config
            (``PROPOSAL_GENERATORS``). Defaults to None (boxes from the
            pipeline).
        proposal_view (int): The view the generator proposes on. Defaults to 0.
        pair_slots (dict, optional): How generated boxes become each pair's
            slots: :class:`PairSlotSampler` arguments (``num_boxes``,
            ``min_visible_fraction``, ``min_area``, ``padding``) and ``jitter``
            (view a's jitter). Defaults to ``dict(num_boxes=4)``.
        level_thresholds (Sequence[float]): Upper box scale ``sqrt(w h)`` of each
            feature level but the last, for views of side
            ``level_reference_size``; unused with one level. Defaults to
            SoCo's (48, 96, 192, 224).
        level_reference_size (int, optional): The thresholds are scaled by the
            largest view side / this (224-px views: unchanged; objcon's choice for
            smaller views, e.g. the 128-px demos). None: view pixels as given.
            Defaults to 224.
        data_preprocessor (dict, optional): Normalises each view. Defaults to
            mmpretrain's SelfSupDataPreprocessor.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 embedder: Optional[dict] = None,
                 head: Optional[dict] = None,
                 base_momentum: float = 0.99,
                 end_momentum: float = 1.0,
                 proposal_generator: Optional[dict] = None,
                 proposal_view: int = 0,
                 pair_slots: Optional[dict] = None,
                 level_thresholds: Sequence[float] = SOCO_LEVEL_THRESHOLDS,
                 level_reference_size: Optional[int] = 224,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='mmpretrain.SelfSupDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            backbone=MODELS.build(backbone),
            neck=MODELS.build(neck) if neck is not None else None,
            head=MODELS.build(head) if head is not None else None,
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.embedder = MODELS.build(embedder) if embedder is not None else None
        for name, tau in (('base_momentum', base_momentum),
                          ('end_momentum', end_momentum)):
            if not 0 <= tau <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {tau}')
        self.base_momentum = base_momentum
        self.end_momentum = end_momentum
        self.init_target()
        self.proposal_generator = PROPOSAL_GENERATORS.build(proposal_generator) \
            if proposal_generator is not None else None
        self.proposal_view = int(proposal_view)
        slots = dict(num_boxes=4)
        slots.update(pair_slots or {})
        self.slot_jitter = slots.pop('jitter', None)
        self.slot_sampler = PairSlotSampler(**slots)
        num_levels = self.embedder.num_levels if self.embedder is not None else 1
        if num_levels > 1 and len(level_thresholds) != num_levels:
            raise ValueError(f'{len(level_thresholds)} level thresholds for '
                             f'{num_levels} feature levels')
        self.level_thresholds = tuple(level_thresholds) if num_levels > 1 else None
        self.level_reference_size = level_reference_size

    # -------------------------------------------------------------- branches
    def online_modules(self) -> nn.ModuleDict:
        """The modules the target network averages (backbone, neck, embedder)."""
        mods = dict(backbone=self.backbone, neck=self.neck, embedder=self.embedder)
        return nn.ModuleDict({k: m for k, m in mods.items() if m is not None})

    def init_target(self) -> None:
        """(Re)build the target as a copy of :meth:`online_modules`; a subclass
        that adds online modules after ``__init__`` of the base calls it again."""
        # mmpretrain's CosineEMA weighs the *new* value: m = 1 - tau.
        self.target_net = ForeachCosineEMA(
            self.online_modules(), momentum=1 - self.base_momentum,
            end_momentum=1 - self.end_momentum)

    @property
    def target(self) -> nn.ModuleDict:
        """The target network: same keys as :meth:`online_modules`."""
        return self.target_net.module

    def update_target(self) -> None:
        """One EMA step of the target towards the online modules."""
        self.target_net.update_parameters(self.online_modules())

    def reset_target(self) -> None:
        """Make the target a copy of the online modules (as before step 0)."""
        self.target.load_state_dict(self.online_modules().state_dict())

    def current_momentum(self) -> float:
        """tau of the latest EMA update."""
        step = max(int(self.target_net.steps) - 1, 0)
        return 1 - self.target_net.momentum_at(step)

    @staticmethod
    def features(branch: nn.ModuleDict, inputs: Tensor
                 ) -> Tuple[Tuple[Tensor, ...], Tensor]:
        """Feature levels of a branch, and the backbone's last level.

        Args:
            branch (nn.ModuleDict): :meth:`online_modules` or :attr:`target`.
            inputs (Tensor): (N, 3, H, W) images.

        Returns:
            tuple: ``(levels, last)``: the neck's levels (the backbone's without
            a neck) and the backbone's last level (C5 or C4).
        """
        x = tuple(branch['backbone'](inputs))
        feats = tuple(branch['neck'](x)) if 'neck' in branch else x
        return feats, x[-1]

    def extract_feat(self, inputs) -> Tuple[Tensor, ...]:
        """Online backbone (+ neck) levels of a batch (the first view if a
        list of views is given)."""
        if isinstance(inputs, (list, tuple)):
            inputs = inputs[0]
        return self.features(self.online_modules(), inputs)[0]

    # ----------------------------------------------------------------- boxes
    def scaled_thresholds(self, inputs: Sequence[Tensor]
                          ) -> Optional[Tuple[float, ...]]:
        """The level thresholds for views of these sizes (rounded); None with
        one level."""
        if self.level_thresholds is None or not self.level_reference_size:
            return self.level_thresholds
        side = max(max(x.shape[-2:]) for x in inputs)
        return tuple(round(t * side / self.level_reference_size)
                     for t in self.level_thresholds)

    @staticmethod
    def view_pairs(data_samples: Sequence) -> ViewPairs:
        """The batch's :class:`ViewPairs`, stacked from its samples."""
        if not data_samples:
            raise ValueError('object-level algorithms need data samples carrying '
                             'view_pairs (ObjectViews + PackObjectViews)')
        return ViewPairs.stack([ds.view_pairs for ds in data_samples])

    @torch.no_grad()
    def propose(self, last_level: Tensor,
                img_shapes: Sequence[Tuple[int, int]]) -> List[Tensor]:
        """Boxes of the proposal generator on images whose backbone's last level
        is ``last_level`` (B, C, h, w); per image (N_i, 4) xyxy."""
        if self.proposal_generator is None:
            raise RuntimeError(f'{type(self).__name__} has no proposal_generator')
        return self.proposal_generator(last_level, img_shapes)

    def view_pairs_from_proposals(self, boxes: Sequence[Tensor],
                                  data_samples: Sequence,
                                  view_pairs: ViewPairs) -> ViewPairs:
        """Replace the pipeline's slots by boxes proposed on ``proposal_view``.

        Args:
            boxes (Sequence[Tensor]): Per image, (M, 4) xyxy in the proposal
                view's pixels (from :meth:`propose`).
            data_samples (Sequence): Samples with ``view_params`` and
                ``ori_shape`` metainfo (``ObjectViews`` records them).
            view_pairs (ViewPairs): The pipeline's (only its views are kept).

        Returns:
            ViewPairs: Slots of the same pairs from the proposed boxes, on the
            device of ``view_pairs``.
        """
        per_image = [
            view_pairs_from_boxes(
                b.detach().cpu().numpy(), self.proposal_view,
                ds.metainfo['view_params'], view_pairs.views,
                ds.metainfo['ori_shape'][:2], self.slot_sampler,
                self.slot_jitter)
            for b, ds in zip(boxes, data_samples)
        ]
        return ViewPairs.stack(per_image).to(view_pairs.ids_a.device)

    # ----------------------------------------------------------------- misc
    @staticmethod
    def with_scalars(losses: Dict[str, Tensor], **scalars: float
                     ) -> Dict[str, Tensor]:
        """``losses`` plus scalars for the log (keys without 'loss' are logged,
        not optimised)."""
        ref = next(iter(losses.values()))
        losses.update({k: ref.new_tensor(float(v)) for k, v in scalars.items()})
        return losses

    @classmethod
    def transfer_map(cls, model_cfg: dict) -> TransferMap:
        """What of a trained model transfers to an mmdet detector.

        Args:
            model_cfg (dict): The model's config (as saved in its checkpoint).

        Returns:
            dict[str, list[tuple[str, str]]]: Per transfer part (``backbone``,
            ``neck``, ``head``), (pretraining prefix, detector prefix) pairs.
            A part the model does not have is absent.
        """
        parts: TransferMap = dict(backbone=[('backbone.', 'backbone.')])
        if model_cfg.get('neck') is not None:
            parts['neck'] = [('neck.', 'neck.')]
        trunk = (model_cfg.get('embedder') or {}).get('trunk')
        if trunk is not None:
            trunk_cls = MODELS.get(trunk['type'])
            for part, prefixes in getattr(trunk_cls, 'transfer_prefixes',
                                          {}).items():
                parts.setdefault(part, []).extend(
                    (f'embedder.trunk.{src}', dst) for src, dst in prefixes)
        return parts
