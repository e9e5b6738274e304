"""PLRC: point-level region contrast (Bai et al., CVPR 2022)."""
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from objcon.registry import MODELS
from ..utils import (FeatureQueue, close_position_pairs, features_at_points,
                     forward_shuffled, sample_common_region_points)
from .base import BaseObjectSelfSupervisor

DenseOutputs = Tuple[Tensor, Tensor, Tensor]


@MODELS.register_module()
class PLRC(BaseObjectSelfSupervisor):
    """PLRC: point-level region contrast (Bai et al., "Point-Level Region Contrast
    for Object Detection Pre-Training", CVPR 2022, arXiv 2202.04639).

    A ResNet whose last level (res5) feeds two per-position heads: the point
    projector (an MLP, 2048-2048-128 without BN; its spatial mean is the image
    vector) and the dense head (:class:`~objcon.models.necks.DINOProjectionHead`,
    2048-2048-2048-256 with BN, 4096 weight-normed logits). The key encoder is
    the base's EMA copy of all three (constant momentum 0.999, updated before
    the key forwards). Views (``ObjectViews``, region mode): 0 and 1 the main
    crops (query and key), 2 an auxiliary crop overlapping view 0; each carries
    its label map of the image's 4 x 4 grid (``region_maps``) and its crop
    (``view_crops``, ``view_flips``).

    Losses (weights as the published code computes the total,
    ``L_image + 0.7 (0.3 L_distill + 0.3 L_point)``: the loss configs carry
    0.21 for the point and distillation losses):

    * image: InfoNCE (tau 0.2) of the online image vector of view 0 against
      the key vector of view 1 and a queue of past key vectors, the positive
      at index 0 (the reference's labels ``arange(N)`` make only the first
      image of each GPU's batch see its positive: not reproduced);
    * point: a grid cell present in both main views is drawn per image, and
      ``num_points`` points uniformly in it per view
      (:func:`~objcon.models.utils.sample_common_region_points`); the online
      point features of view 0 and the key ones of view 1 are read bilinearly
      at their (x, y) (:func:`~objcon.models.utils.features_at_points`; the
      reference swaps x and y: not reproduced) and contrasted with
      :class:`~objcon.models.losses.SupConLoss` (the points of one image are
      each other's positives, those of the other images the negatives). An
      image without a common cell takes no part;
    * distillation: dense maps of view 0 (online, student) and of the
      auxiliary view 2 (key encoder, teacher), upsampled to ``dense_size``;
      pairs of positions whose image-space centres lie within
      ``pair_distance`` cell diagonals
      (:func:`~objcon.models.utils.close_position_pairs`, flips included).
      Each position's vector is [its affinity to every position of the key
      view 1 (dot product of its L2-normalised bottleneck with view 1's
      L1-normalised key bottleneck, times ``affinity_scale``), its logits];
      :class:`~objcon.models.losses.CentredDistillationLoss` (teacher
      temperature 0.04 -> 0.07 over 30 epochs, centre EMA 0.9).

    Key-branch BN: when distributed, the key images are shuffled across ranks
    (shuffle-BN, as the reference) and the head outputs unshuffled.

    Other deliberate differences from the reference code (docs/plrc.md, with
    numbers): image and label map flip with one draw; no auxiliary crop of the
    key view (the reference draws one and never uses it); the sampled key points
    are contrasted as drawn (the reference re-indexes them by a similarity
    argmax); the distillation pairs mirror the centres of flipped views; the
    teacher sees the auxiliary crop after the step's EMA update.

    Args:
        backbone (dict): mmdet ResNet config (``out_indices=(3, )``).
        point_projector (dict): Per-position MLP (``ProjectionMLP``).
        dense_head (dict): ``DINOProjectionHead`` config.
        image_loss (dict): Defaults to ``InfoNCELoss`` with tau 0.2.
        point_loss (dict): Defaults to ``SupConLoss`` (0.2, 0.07), weight 0.21.
        distill_loss (dict): ``CentredDistillationLoss`` config without ``dim``
            (set here to ``dense_size ** 2`` + the dense head's logits).
            Defaults to PLRC's, weight 0.21.
        queue_size (int): Image queue length. Defaults to 65536.
        feat_dim (int): Width of the point projector's output. Defaults to 128.
        num_points (int): Points per image and main view in the point loss.
            Defaults to 16 (the reference samples 32 and keeps 16).
        dense_size (int): Side of the upsampled dense maps. Defaults to 56.
        pair_distance (float): Distillation pairs' largest centre distance, in
            cell diagonals. Defaults to 0.5.
        affinity_scale (float): Factor of the affinities. Defaults to 1 / 128.
        base_momentum (float): EMA momentum at the start. Defaults to 0.999.
        end_momentum (float): EMA momentum at the end. Defaults to 0.999.
        **kwargs: :class:`BaseObjectSelfSupervisor` arguments.
    """

    #: views in ``inputs``: query, key, auxiliary crop of the query view
    QUERY, KEY, AUXILIARY = 0, 1, 2

    def __init__(self,
                 backbone: dict,
                 point_projector: dict,
                 dense_head: dict,
                 image_loss: dict = dict(type='InfoNCELoss', temperature=0.2),
                 point_loss: dict = dict(type='SupConLoss', temperature=0.2,
                                         base_temperature=0.07,
                                         loss_weight=0.7 * 0.3),
                 distill_loss: dict = dict(type='CentredDistillationLoss',
                                           loss_weight=0.7 * 0.3),
                 queue_size: int = 65536,
                 feat_dim: int = 128,
                 num_points: int = 16,
                 dense_size: int = 56,
                 pair_distance: float = 0.5,
                 affinity_scale: float = 1. / 128,
                 base_momentum: float = 0.999,
                 end_momentum: float = 0.999,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, base_momentum=base_momentum,
                         end_momentum=end_momentum, **kwargs)
        self.point_projector = MODELS.build(point_projector)
        self.dense_head = MODELS.build(dense_head)
        self.init_target()  # the target includes both heads
        if num_points < 1 or dense_size < 1:
            raise ValueError(f'num_points and dense_size must be >= 1, got '
                             f'{num_points}, {dense_size}')
        self.image_loss = MODELS.build(image_loss)
        self.point_loss = MODELS.build(point_loss)
        num_logits = self.dense_head.last_layer.out_features
        self.distill_loss = MODELS.build(
            dict(distill_loss, dim=dense_size * dense_size + num_logits))
        self.image_queue = FeatureQueue(queue_size, feat_dim)
        self.num_points = int(num_points)
        self.dense_size = int(dense_size)
        self.pair_distance = float(pair_distance)
        self.affinity_scale = float(affinity_scale)

    def online_modules(self) -> nn.ModuleDict:
        """Backbone and (once built) the point projector and dense head."""
        mods = super().online_modules()
        for name in ('point_projector', 'dense_head'):
            if name in self._modules:
                mods[name] = self._modules[name]
        return mods

    # --------------------------------------------------------------- pieces
    def _dense(self, branch: nn.ModuleDict, images: Tensor) -> DenseOutputs:
        """Per-position outputs of a branch on (B, 3, H, W) images.

        Returns:
            tuple: point features (B, D, h, w), dense bottleneck (B, 256, h, w)
            and dense logits (B, K, h, w), on res5's h x w positions.
        """
        res5 = branch['backbone'](images)[-1]
        b, c, h, w = res5.shape
        rows = res5.permute(0, 2, 3, 1).reshape(b * h * w, c)
        points = branch['point_projector']((rows, ))[0]
        bottleneck, logits = branch['dense_head'](rows)
        return tuple(x.view(b, h, w, -1).permute(0, 3, 1, 2)
                     for x in (points, bottleneck, logits))

    @torch.no_grad()
    def _dense_key(self, images: Tensor) -> DenseOutputs:
        """The key encoder's outputs, with shuffle-BN across ranks."""
        return forward_shuffled(lambda x: self._dense(self.target, x), images)

    def _upsample(self, x: Tensor) -> Tensor:
        """(B, C, h, w) -> (B, S*S, C) at the dense size, bilinear."""
        x = F.interpolate(x, size=(self.dense_size, self.dense_size),
                          mode='bilinear', align_corners=False)
        return x.flatten(2).transpose(1, 2)

    def _distill_vectors(self, bottleneck: Tensor, logits: Tensor,
                         key_bottleneck: Tensor) -> Tensor:
        """(B, S*S, S*S + K): scaled affinities to the key view's positions,
        then the logits, per position."""
        own = self._upsample(F.normalize(bottleneck, dim=1))
        affinity = own @ key_bottleneck.transpose(1, 2) * self.affinity_scale
        return torch.cat([affinity, self._upsample(logits)], dim=-1)

    @staticmethod
    def _stack(data_samples: Sequence, name: str) -> Tensor:
        if not data_samples or name not in data_samples[0]:
            raise ValueError(
                f'PLRC needs data samples with {name}: use ObjectViews with '
                'region_map (after GridRegionMap) and PackObjectViews')
        return torch.stack([getattr(ds, name) for ds in data_samples])

    # ------------------------------------------------------------------ loss
    def loss(self, inputs: List[Tensor], data_samples: Sequence
             ) -> Dict[str, Tensor]:
        """PLRC's losses.

        Args:
            inputs (list[Tensor]): One normalised (B, 3, H, W) batch per view:
                query, key, auxiliary (of the query view).
            data_samples (Sequence): Samples with ``region_maps``,
                ``view_crops`` and ``view_flips``.

        Returns:
            dict[str, Tensor]: ``loss_image``, ``loss_point``, ``loss_distill``
            (weighted); for the log ``teacher_temperature``, ``momentum``,
            ``point_images`` (images with a common cell) and
            ``distill_pairs``.
        """
        if len(inputs) < 3:
            raise ValueError(f'PLRC needs 3 views (query, key, auxiliary crop of '
                             f'the query), got {len(inputs)}')
        maps = self._stack(data_samples, 'region_maps')
        crops = self._stack(data_samples, 'view_crops')
        flips = self._stack(data_samples, 'view_flips')
        q, k, aux = self.QUERY, self.KEY, self.AUXILIARY

        self.update_target()  # before the key forwards
        point_q, bottleneck_q, logits_q = self._dense(self.online_modules(),
                                                      inputs[q])
        with torch.no_grad():
            point_k, bottleneck_k, _ = self._dense_key(inputs[k])
            _, bottleneck_t, logits_t = self._dense_key(inputs[aux])

        # image: spatial mean of the point features
        image_k = point_k.mean((2, 3))
        loss_image = self.image_loss(point_q.mean((2, 3)), image_k,
                                     self.image_queue.features)

        # point: one common cell per image, points of both main views
        map_hw = tuple(maps.shape[-2:])
        points_q, points_k, _, valid = sample_common_region_points(
            maps[:, q], maps[:, k], self.num_points)
        feats = torch.cat([features_at_points(point_q, points_q, map_hw),
                           features_at_points(point_k, points_k, map_hw)], 1)
        labels = torch.arange(len(feats), device=feats.device)[:, None]
        loss_point = self.point_loss(
            feats[valid].flatten(0, 1),
            labels.expand(-1, feats.shape[1])[valid].flatten())

        # distillation: student query view vs teacher auxiliary view
        with torch.no_grad():
            key_bottleneck = self._upsample(F.normalize(bottleneck_k, p=1, dim=1))
            teacher = self._distill_vectors(bottleneck_t, logits_t, key_bottleneck)
        student = self._distill_vectors(bottleneck_q, logits_q, key_bottleneck)
        image, pos_s, pos_t = close_position_pairs(
            crops[:, q], flips[:, q], crops[:, aux], flips[:, aux],
            (self.dense_size, self.dense_size), self.pair_distance)
        epoch = self.distill_loss.current_epoch()
        loss_distill = self.distill_loss(student[image, pos_s],
                                         teacher[image, pos_t], epoch)

        self.image_queue.enqueue(image_k)
        losses = dict(loss_image=loss_image, loss_point=loss_point,
                      loss_distill=loss_distill)
        return self.with_scalars(
            losses, momentum=self.current_momentum(),
            teacher_temperature=self.distill_loss.teacher_temperature_at(epoch),
            point_images=float(valid.sum()), distill_pairs=float(len(image)),
            image_queue_cosine=self.image_queue.mean_cosine())
