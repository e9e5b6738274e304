"""DETReg (Bar et al., CVPR 2022) on MMDetection's Deformable DETR."""
from typing import Dict, Sequence

import torch
from mmdet.models.layers.transformer import MLP
from mmdet.structures import DetDataSample
from torch import Tensor

from objcon.registry import MODELS
from .detector_pretrainer import BaseDetectorPretrainer


@MODELS.register_module()
class DETReg(BaseDetectorPretrainer):
    """DETReg: localise class-agnostic region priors and embed their content.

    The detector (mmdet's ``DeformableDETR``, one "object" class, 300 queries)
    learns to find the selective-search boxes of the pipeline (the ``detreg``
    proposal preset) with mmdet's Hungarian matching and focal / L1 / GIoU
    losses, auxiliary losses on every decoder layer. An MLP on the last decoder
    layer's matched queries regresses, with an L1 loss, the pooled res3 feature
    of the frozen self-supervised backbone on each matched box's crop (128x128,
    SimCLR colour, no flip).

    Differences from the reference code (amirbar/DETReg), deliberate:

    * the boxes come from the proposal cache, computed once; the reference
      recomputes the selective search of every image every epoch (its box order,
      hence its top 30, varies with OpenCV's ``rand()``; objcon's is seeded);
    * images with fewer than 2 boxes are left out of the dataset before
      training (``LoadProposals(min_boxes=2)``); the reference draws another
      image instead at each visit;
    * matching is computed again on the last layer for the embedding branch
      (mmdet's assigner, same inputs, same result) instead of reusing the
      criterion's indices.

    Args:
        detector (dict): mmdet ``DeformableDETR`` config (see
            :class:`BaseDetectorPretrainer`).
        target (dict): :class:`~objcon.models.utils.FrozenBackbone` config
            (res3 of ResNet-50: 512-d).
        embed_hidden_channels (int): Hidden width of the embedding MLP.
            Defaults to 256.
        embed_num_layers (int): Linear layers of the embedding MLP (ReLU
            between). Defaults to 2 (256-256-512).
        loss_embed (dict): Loss between predicted and target embeddings.
            Defaults to mmdet's ``L1Loss`` (mean), weight 1.
        init_backbone_from_target (bool): See :class:`BaseDetectorPretrainer`.
            Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    transfer_config = 'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py'

    def __init__(self,
                 detector: dict,
                 target: dict,
                 embed_hidden_channels: int = 256,
                 embed_num_layers: int = 2,
                 loss_embed: dict = dict(type='L1Loss', loss_weight=1.0),
                 init_backbone_from_target: bool = True,
                 init_cfg=None) -> None:
        super().__init__(detector, target,
                         init_backbone_from_target=init_backbone_from_target,
                         init_cfg=init_cfg)
        self.embed_head = MLP(self.detector.embed_dims, embed_hidden_channels,
                              self.target.out_channels, embed_num_layers)
        self.loss_embed = MODELS.build(loss_embed)

    def loss(self, inputs: Tensor,
             data_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        """Detector losses (every decoder layer) + the embedding loss.

        Args:
            inputs (Tensor): (B, 3, H, W) preprocessed images.
            data_samples (Sequence[DetDataSample]): Target boxes (labels: object
                ids) and their crops.

        Returns:
            dict[str, Tensor]: mmdet's ``loss_cls``, ``loss_bbox``, ``loss_iou``
            (and ``d{i}.`` of the earlier layers), ``loss_embed``, and the
            logged ``num_targets`` (target boxes per image).
        """
        det_samples, ids, crops = self.split_samples(data_samples)
        feats = self.detector.extract_feat(inputs)
        head_inputs = self.detector.forward_transformer(feats, det_samples)
        losses = self.detector_losses(head_inputs, det_samples)

        with torch.no_grad():
            cls_scores, bbox_preds = self.head_outputs(head_inputs)
        matches = self.matched_queries(cls_scores[-1], bbox_preds[-1], det_samples)
        last = head_inputs['hidden_states'][-1]  # (B, Q, C)
        queries = torch.cat([last[i, q] for i, (q, _) in enumerate(matches)])
        target_crops = torch.cat(
            [crops[i][ids[i][b]] for i, (_, b) in enumerate(matches)])
        target = self.target(target_crops.to(inputs.device))
        losses['loss_embed'] = self.loss_embed(self.embed_head(queries), target)
        losses['num_targets'] = inputs.new_tensor(
            sum(len(i) for i in ids) / max(len(ids), 1))
        return losses
