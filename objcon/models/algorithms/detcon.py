"""DetCon-B: contrastive detection between the segments of two views."""
from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor, nn

from objcon.registry import MODELS
from ..utils import label_maps_to_grid, mask_pool, sample_mask_ids
from .base import BaseObjectSelfSupervisor


@MODELS.register_module()
class DetCon(BaseObjectSelfSupervisor):
    """DetCon-B (Henaff et al., "Efficient Visual Pretraining with Contrastive
    Detection", ICCV 2021, https://arxiv.org/abs/2103.10957).

    BYOL on segments instead of images. Views (``ObjectViews`` in region mode,
    ``configs/_base_/datasets/detcon_views.py``): two crops of the image, each
    with its label map of the image's Felzenszwalb-Huttenlocher segments
    (``region_maps``, nearest-sampled, full-resolution ids). Per view:

    1. res5 of the backbone (7 x 7 for a 224-px view);
    2. the view's label map to res5's grid
       (:func:`~objcon.models.utils.label_maps_to_grid`: one-hot, average
       pooling, argmax per cell);
    3. ``num_masks`` ids drawn uniformly with replacement among those present
       in the grid (:func:`~objcon.models.utils.sample_mask_ids`), one draw
       per view used by both networks;
    4. each id's mean res5 vector over its cells
       (:func:`~objcon.models.utils.mask_pool`) -> ``projector`` (online and
       target) -> ``predictor`` (online only).

    Loss: :class:`~objcon.models.losses.MultiPositiveNCELoss` (tau 0.1) of the
    online predictions of each view against the target projections of both
    views, negatives gathered across ranks, symmetrised. The target (backbone
    and projector) is the base's EMA copy, tau cosine from 0.996 to 1 over the
    training iterations, updated before the target forwards.

    Deliberate differences from the reference code (docs/detcon.md):

    * no linear classifier on stop-gradient features (the reference trains one
      on ImageNet labels to monitor the run);
    * the target starts as a copy of the online network; the reference
      initialises it with another random draw;
    * the masks are OpenCV's Felzenszwalb-Huttenlocher segmentation
      (``FelzenszwalbSegments``), the reference's scikit-image's: not the same
      segments (benchmarks/proposals.py measures how far apart they are), and
      stored without the reference's uint8 id wrap past 255 segments.

    Args:
        backbone (dict): mmdet ResNet config (``out_indices=(3, )``: res5).
        projector (dict): Per-mask MLP (Linear 4096, BN, ReLU, Linear 256 in the
            reference: ``mmpretrain.NonLinearNeck`` without pooling).
        predictor (dict): The online network's MLP on the projections.
        loss (dict): Defaults to ``MultiPositiveNCELoss`` with tau 0.1.
        num_masks (int): Mask ids drawn per view. Defaults to 16.
        base_momentum (float): EMA tau at the start. Defaults to 0.996.
        end_momentum (float): EMA tau at the end. Defaults to 1.0.
        **kwargs: :class:`BaseObjectSelfSupervisor` arguments (data
            preprocessor, init).
    """

    def __init__(self,
                 backbone: dict,
                 projector: dict,
                 predictor: dict,
                 loss: dict = dict(type='MultiPositiveNCELoss', temperature=0.1),
                 num_masks: int = 16,
                 base_momentum: float = 0.996,
                 end_momentum: float = 1.0,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, base_momentum=base_momentum,
                         end_momentum=end_momentum, **kwargs)
        if num_masks < 1:
            raise ValueError(f'num_masks must be >= 1, got {num_masks}')
        self.projector = MODELS.build(projector)
        self.predictor = MODELS.build(predictor)
        self.init_target()  # the target includes the projector
        self.contrast = MODELS.build(loss)
        self.num_masks = int(num_masks)

    def online_modules(self) -> nn.ModuleDict:
        """Backbone and (once built) the projector; the predictor is online
        only."""
        mods = super().online_modules()
        if 'projector' in self._modules:
            mods['projector'] = self.projector
        return mods

    def _embed(self, branch: nn.ModuleDict, images: Tensor, label_maps: Tensor,
               ids: Tensor = None) -> Tuple[Tensor, Tensor, Tensor]:
        """Projections of a view's masks.

        Args:
            branch (nn.ModuleDict): :meth:`online_modules` or :attr:`target`.
            images (Tensor): (B, 3, H, W) views.
            label_maps (Tensor): (B, h, w) their label maps.
            ids (Tensor, optional): (B, K) mask ids; drawn here if None.

        Returns:
            tuple: (B, K, D) projections, the (B, K) ids and the (B, gh, gw)
            grid labels.
        """
        res5 = branch['backbone'](images)[-1]
        grid = label_maps_to_grid(label_maps, tuple(res5.shape[-2:]))
        if ids is None:
            ids = sample_mask_ids(grid, self.num_masks)
        pooled, _ = mask_pool(res5, grid, ids)
        proj = branch['projector']((pooled.flatten(0, 1), ))[0]
        return proj.view(*ids.shape, -1), ids, grid

    def loss(self, inputs: List[Tensor], data_samples: Sequence
             ) -> Dict[str, Tensor]:
        """DetCon's loss.

        Args:
            inputs (list[Tensor]): Two normalised (B, 3, H, W) batches, the
                views.
            data_samples (Sequence): Samples with ``region_maps`` ((2, h, w)
                label maps of the views).

        Returns:
            dict[str, Tensor]: ``loss``; for the log ``momentum``,
            ``masks_per_view`` (distinct ids on the grids, mean) and
            ``positive_slots`` (fraction of slots whose id is in the other
            view's draw).
        """
        if len(inputs) < 2:
            raise ValueError(f'DetCon needs 2 views, got {len(inputs)}')
        if not data_samples or 'region_maps' not in data_samples[0]:
            raise ValueError('DetCon needs data samples with region_maps: use '
                             'LoadProposals(mask_key=...), ObjectViews with '
                             'region_map and PackObjectViews')
        maps = torch.stack([ds.region_maps for ds in data_samples])
        self.update_target()  # before the target forwards
        online = self.online_modules()
        preds, ids, grids = [], [], []
        for view in range(2):
            proj, view_ids, grid = self._embed(online, inputs[view], maps[:, view])
            preds.append(self.predictor((proj.flatten(0, 1), ))[0].view(
                *view_ids.shape, -1))
            ids.append(view_ids)
            grids.append(grid)
        with torch.no_grad():
            targets = [self._embed(self.target, inputs[v], maps[:, v], ids[v])[0]
                       for v in range(2)]
        loss = self.contrast(preds[0], preds[1], targets[0], targets[1], *ids)
        distinct = torch.cat([g.flatten(1).sort(1).values.diff(dim=1).ne(0).sum(1)
                              + 1 for g in grids]).float().mean()
        positive = torch.cat([
            (ids[0][:, :, None] == ids[1][:, None, :]).any(2),
            (ids[1][:, :, None] == ids[0][:, None, :]).any(2)]).float().mean()
        return self.with_scalars(dict(loss=loss), momentum=self.current_momentum(),
                                 masks_per_view=float(distinct),
                                 positive_slots=float(positive))
