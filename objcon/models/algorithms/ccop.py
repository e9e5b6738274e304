from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor, nn

from objcon.registry import MODELS
from objcon.structures import jitter_candidates
from ..utils import (CCOP_CURRICULUM, FeatureQueue, LinearCurriculum,
                     assign_scale_levels, forward_shuffled)
from .base import BaseObjectSelfSupervisor


@MODELS.register_module()
class CCOP(BaseObjectSelfSupervisor):
    """CCOP: curricular contrastive object-level pretraining (Yang, Huang and
    Crowley, https://arxiv.org/abs/2111.13651).

    A MoCo-style query encoder (backbone + FPN) and its EMA key encoder
    (constant momentum 0.999, updated before the key forward), on the one pair
    of views of :class:`~objcon.structures.ViewPairs` (view a: query, view b:
    key). Three losses, summed:

    * image: res5 global average pool -> ``image_projector`` (MLP with
      dropout), InfoNCE of the query against its key and a queue of past keys;
    * inter-image object: each box of view a is pooled (RoIAlign on its
      SoCo-assigned FPN level) and embedded (``embedder``: flatten + MLP with
      dropout). In view b, every box gets ``num_jitters`` jittered copies plus
      itself (:func:`~objcon.structures.jitter_candidates`); among the
      candidates with IoU >= the floor with the box, the one LEAST similar to
      the query is the positive (the hardest). InfoNCE against a queue of past
      positives;
    * intra-image: :class:`IntraImageMarginLoss` between the query embeddings
      and the key embeddings of the unjittered boxes of view b.

    IoU floor, shift and log-scale magnitudes follow the linear curriculum
    (:class:`~objcon.models.utils.LinearCurriculum`, position read from the
    Runner, so ``--resume`` continues it) and are logged with each step.

    Slots: a slot counts only at the first occurrence of its id in the image
    (padding repeats boxes), so a padded box is neither queued twice nor paired
    with itself.

    Key-branch BN: the reference shuffles the key images across GPUs
    (shuffle-BN); objcon does so with
    :func:`~objcon.models.utils.forward_shuffled` when distributed: the key
    branch runs on shuffled images with their boxes, and the embeddings are
    unshuffled (far less traffic than unshuffling the FPN maps; the same result,
    as the heads have no BN). In one process there is nothing to shuffle with:
    the key branch normalises with the statistics of its own batch, as MoCo run
    on one GPU (no shuffle). BN must stay per rank (the CCOP configs set
    ``sync_bn = None``): SyncBN would pool the statistics of every rank and
    undo the shuffle. Dropout is live in the key branch (it is in
    train mode), as in the reference.

    Args:
        backbone (dict): Backbone config (mmdet's ResNet).
        neck (dict): Neck config (mmdet's FPN, P2..P5).
        embedder (dict): :class:`ObjectEmbedder` config (RoIAlign 7x7,
            ``FlattenTrunk``, ``ProjectionMLP``).
        image_projector (dict): The image head (``ProjectionMLP`` with
            ``with_avg_pool=True`` on res5).
        image_loss (dict): Defaults to ``InfoNCELoss`` with tau 0.2.
        object_loss (dict): Defaults to ``InfoNCELoss`` with tau 0.2.
        intra_loss (dict): Defaults to ``IntraImageMarginLoss`` (margin 0.4,
            IoU < 0.05).
        queue_size (int): Image and RoI queue length. Defaults to 65536.
        feat_dim (int): Embedding width (the projectors' output). Defaults to
            128.
        num_jitters (int): Jittered candidates per key box. Defaults to 10.
        curriculum (dict): ``name=(start, end)`` of ``iou_floor``, ``shift``
            and ``log_scale``. Defaults to CCOP's (0.8->0.4, 0.15->0.6,
            0.35->1.4).
        base_momentum (float): EMA momentum at the start. Defaults to 0.999.
        end_momentum (float): EMA momentum at the end. Defaults to 0.999
            (constant, as the reference).
        **kwargs: :class:`BaseObjectSelfSupervisor` arguments.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 embedder: dict,
                 image_projector: dict,
                 image_loss: dict = dict(type='InfoNCELoss', temperature=0.2),
                 object_loss: dict = dict(type='InfoNCELoss', temperature=0.2),
                 intra_loss: dict = dict(type='IntraImageMarginLoss'),
                 queue_size: int = 65536,
                 feat_dim: int = 128,
                 num_jitters: int = 10,
                 curriculum: Optional[dict] = None,
                 base_momentum: float = 0.999,
                 end_momentum: float = 0.999,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, neck=neck, embedder=embedder,
                         base_momentum=base_momentum, end_momentum=end_momentum,
                         **kwargs)
        self.image_projector = MODELS.build(image_projector)
        self.init_target()  # the target includes the image projector
        self.image_loss = MODELS.build(image_loss)
        self.object_loss = MODELS.build(object_loss)
        self.intra_loss = MODELS.build(intra_loss)
        self.image_queue = FeatureQueue(queue_size, feat_dim)
        self.roi_queue = FeatureQueue(queue_size, feat_dim)
        self.num_jitters = int(num_jitters)
        self.curriculum = LinearCurriculum(**(curriculum or CCOP_CURRICULUM))
        missing = {'iou_floor', 'shift', 'log_scale'} - set(self.curriculum.ranges)
        if missing:
            raise ValueError(f'curriculum lacks {sorted(missing)}')

    def online_modules(self) -> nn.ModuleDict:
        """Backbone, neck, embedder and (once built) the image projector."""
        mods = super().online_modules()
        if 'image_projector' in self._modules:
            mods['image_projector'] = self.image_projector
        return mods

    # --------------------------------------------------------------- pieces
    def _encode(self, branch: nn.ModuleDict, images: Tensor, boxes: Tensor
                ) -> Tuple[Tensor, Tensor]:
        """Image embedding (N, D) and box embeddings (N, M, D) of a branch."""
        feats, last = self.features(branch, images)
        return self._heads(branch, feats, last, boxes,
                           self.scaled_thresholds([images]))

    def _heads(self, branch: nn.ModuleDict, feats: Sequence[Tensor],
               last: Tensor, boxes: Tensor, thresholds: Optional[Sequence[float]]
               ) -> Tuple[Tensor, Tensor]:
        image = branch['image_projector']((last, ))[0]
        levels = assign_scale_levels(boxes, thresholds)
        chunks = branch['embedder'].pool(feats, boxes, levels)
        objects = branch['embedder'].embed(chunks)
        return image, objects.view(*boxes.shape[:2], -1)

    @torch.no_grad()
    def _encode_key(self, images: Tensor, boxes: Tensor
                    ) -> Tuple[Tensor, Tensor]:
        """The key branch, with shuffle-BN across ranks when distributed."""
        # the boxes travel with their images; the embeddings (not the feature
        # maps) come back, and the heads have no BN, so this equals unshuffling
        # the maps first
        return forward_shuffled(
            lambda x, b: self._encode(self.target, x, b), images, boxes)

    @staticmethod
    def first_slots(ids: Tensor) -> Tensor:
        """(N, K) bool: the first slot of each id in its image (padding repeats
        earlier slots)."""
        same = ids.unsqueeze(2) == ids.unsqueeze(1)  # (N, K, K)
        earlier = torch.ones_like(same[0]).tril(-1)  # [i, j]: j < i
        return ~(same & earlier).any(2)

    @staticmethod
    def hardest_positive(query: Tensor, candidates: Tensor,
                         valid: Tensor) -> Tuple[Tensor, Tensor]:
        """The valid candidate least similar to its query.

        Args:
            query (Tensor): (..., D) query embeddings.
            candidates (Tensor): (..., C, D) candidate key embeddings.
            valid (Tensor): (..., C) bool; at least one per query should be
                valid (the unjittered box always is).

        Returns:
            tuple[Tensor, Tensor]: (..., D) the chosen candidates and (...) their
            indices.
        """
        sims = (F.normalize(candidates, dim=-1) @
                F.normalize(query, dim=-1).unsqueeze(-1)).squeeze(-1)
        sims = sims.masked_fill(~valid, float('inf'))
        index = sims.argmin(-1)
        chosen = candidates.gather(
            -2, index[..., None, None].expand(*index.shape, 1,
                                              candidates.shape[-1]))
        return chosen.squeeze(-2), index

    # ------------------------------------------------------------------ loss
    def loss(self, inputs: List[Tensor], data_samples: Sequence
             ) -> Dict[str, Tensor]:
        """CCOP's losses on the pair of views.

        Args:
            inputs (list[Tensor]): One normalised (N, 3, H, W) batch per view.
            data_samples (Sequence): Samples carrying ``view_pairs``.

        Returns:
            dict[str, Tensor]: ``loss_image``, ``loss_object``, ``loss_intra``;
            for the log ``iou_floor``, ``shift``, ``log_scale``, ``momentum``,
            ``num_objects`` (valid boxes in the batch).
        """
        pairs = self.view_pairs(data_samples)
        if len(pairs) != 1:
            raise ValueError(f'CCOP contrasts one pair of views, the samples have '
                             f'{len(pairs)}: configure ObjectViews with one pair')
        pair = pairs.pair(0)
        schedule = self.curriculum.current()
        valid = self.first_slots(pair.ids_b) & (pair.ids_a == pair.ids_b)
        n, k = pair.ids_b.shape
        key_images = inputs[pair.b]
        cands = jitter_candidates(
            pair.boxes_b, (key_images.shape[-1], key_images.shape[-2]),
            self.num_jitters, schedule['shift'], schedule['log_scale'])
        c = cands.shape[2]  # num_jitters + 1, the box itself last
        self.update_target()  # before the key forward, as the reference
        img_q, obj_q = self._encode(self.online_modules(), inputs[pair.a],
                                    pair.boxes_a)
        with torch.no_grad():
            img_k, obj_k = self._encode_key(key_images, cands.view(n, k * c, 4))
            obj_k = obj_k.view(n, k, c, -1)
            iou = bbox_overlaps(cands, pair.boxes_b.unsqueeze(2).expand_as(cands),
                                is_aligned=True)
            positive, _ = self.hardest_positive(
                obj_q.detach(), obj_k, iou >= schedule['iou_floor'])
        q_valid, pos_valid = obj_q[valid], positive[valid]
        losses = dict(
            loss_image=self.image_loss(img_q, img_k, self.image_queue.features),
            loss_object=self.object_loss(q_valid, pos_valid,
                                         self.roi_queue.features))
        sims = F.normalize(obj_q, dim=-1) @ \
            F.normalize(obj_k[:, :, -1], dim=-1).transpose(1, 2)
        losses['loss_intra'] = self.intra_loss(sims, pair.boxes_b, valid)
        self.image_queue.enqueue(img_k)
        self.roi_queue.enqueue(pos_valid)
        return self.with_scalars(losses, momentum=self.current_momentum(),
                                 num_objects=float(valid.sum()),
                                 image_queue_cosine=self.image_queue.mean_cosine(),
                                 object_queue_cosine=self.roi_queue.mean_cosine(),
                                 **schedule)
