"""UP-DETR (Dai et al., CVPR 2021) on MMDetection's DETR."""
from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from mmdet.models.layers.transformer import MLP
from mmdet.structures import DetDataSample
from torch import Tensor, nn

from objcon.registry import MODELS
from .detector_pretrainer import BaseDetectorPretrainer


def query_group_mask(num_queries: int, num_groups: int,
                     device=None) -> Tensor:
    """Self-attention mask that keeps each query group to itself.

    Queries are split into ``num_groups`` contiguous groups of
    ``num_queries // num_groups`` (group ``g``: queries ``g * n`` to
    ``(g + 1) * n - 1``, the queries patch ``g`` is added to).

    Args:
        num_queries (int): Q.
        num_groups (int): Number of groups; must divide Q.
        device: Device of the mask. Defaults to None.

    Returns:
        Tensor: (Q, Q) bool, True where query i may NOT attend to query j
        (``nn.MultiheadAttention``'s convention).
    """
    if num_groups < 1 or num_queries % num_groups:
        raise ValueError(f'{num_groups} query groups do not divide {num_queries} '
                         f'queries')
    group = torch.arange(num_queries, device=device) // (num_queries // num_groups)
    return group[:, None] != group[None, :]


@MODELS.register_module()
class UPDETR(BaseDetectorPretrainer):
    """UP-DETR: random query patch detection on mmdet's DETR.

    Each image gets ``num_patches`` random patches (the pipeline's
    ``RandomPatches`` source, sides uniform in [8, side - 8]); each patch's crop
    (128x128, SimCLR colour) is embedded by the frozen backbone (GAP of res5),
    projected by a Linear to the query width and added to the positional
    embeddings of its group of ``num_queries / num_patches`` queries; a fraction
    ``mask_ratio`` of the patch features is zeroed. Self-attention in the decoder
    is restricted to each group (:func:`query_group_mask`). The detector finds
    the patches with mmdet's DETR head (Hungarian matching, cross-entropy with
    no-object weight 0.1, L1, GIoU), and an MLP on the last decoder layer's
    matched queries reconstructs the patch feature: MSE between the L2-normalised
    prediction and target, summed over channels and averaged over the patches.

    Differences from the reference code (dddzg/up-detr), deliberate: mmdet's DETR
    is post-norm (the reference pretrains a pre-norm transformer), so that the
    pretrained detector loads into mmdet's stock DETR config; the reconstruction
    loss is on the last decoder layer only.

    Args:
        detector (dict): mmdet ``DETR`` config (see
            :class:`BaseDetectorPretrainer`); ``num_queries`` must be a multiple
            of ``num_patches``.
        target (dict): :class:`~objcon.models.utils.FrozenBackbone` config
            (res5 of ResNet-50: 2048-d).
        num_patches (int): Patches per image (every image must have them).
            Defaults to 10.
        mask_ratio (float): Probability of zeroing a patch feature. Defaults to
            0.1.
        feature_hidden_channels (int): Hidden width of the reconstruction MLP.
            Defaults to 256.
        feature_num_layers (int): Linear layers of the reconstruction MLP.
            Defaults to 2.
        loss_feature_weight (float): Weight of the reconstruction loss. Defaults
            to 1.
        init_backbone_from_target (bool): See :class:`BaseDetectorPretrainer`.
            Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    transfer_config = 'mmdet::detr/detr_r50_8xb2-150e_coco.py'

    def __init__(self,
                 detector: dict,
                 target: dict,
                 num_patches: int = 10,
                 mask_ratio: float = 0.1,
                 feature_hidden_channels: int = 256,
                 feature_num_layers: int = 2,
                 loss_feature_weight: float = 1.0,
                 init_backbone_from_target: bool = True,
                 init_cfg=None) -> None:
        super().__init__(detector, target,
                         init_backbone_from_target=init_backbone_from_target,
                         init_cfg=init_cfg)
        num_queries = self.detector.num_queries
        query_group_mask(num_queries, num_patches)  # checks the division
        if not 0 <= mask_ratio < 1:
            raise ValueError(f'mask_ratio must be in [0, 1), got {mask_ratio}')
        self.num_patches = num_patches
        self.mask_ratio = mask_ratio
        dims, feat = self.detector.embed_dims, self.target.out_channels
        self.patch_to_query = nn.Linear(feat, dims)
        self.feature_head = MLP(dims, feature_hidden_channels, feat,
                                feature_num_layers)
        self.loss_feature_weight = loss_feature_weight

    def patch_queries(self, features: Tensor) -> Tensor:
        """Per-query additions from (B, P, C) patch features: (B, Q, dims),
        patch ``p`` on the queries of group ``p``; some features zeroed in
        training."""
        query = self.patch_to_query(features)
        if self.training and self.mask_ratio > 0:
            keep = torch.rand(query.shape[:2], device=query.device) >= self.mask_ratio
            query = query * keep[..., None]
        per_group = self.detector.num_queries // self.num_patches
        return query.repeat_interleave(per_group, dim=1)

    def forward_with_patches(self, inputs: Tensor,
                             det_samples: Sequence[DetDataSample],
                             features: Tensor) -> dict:
        """The detector's transformer with the patch features in its queries and
        self-attention kept within each query group.

        Args:
            inputs (Tensor): (B, 3, H, W) preprocessed images.
            det_samples (Sequence[DetDataSample]): The detector's samples.
            features (Tensor): (B, P, C) frozen features of the patches.

        Returns:
            dict: The head's inputs (``hidden_states``: (L, B, Q, dims)).
        """
        det = self.detector
        feats = det.extract_feat(inputs)
        enc_inputs, dec_inputs = det.pre_transformer(feats, det_samples)
        memory = det.forward_encoder(**enc_inputs)['memory']
        query_inputs, head_inputs = det.pre_decoder(memory)
        query_pos = query_inputs['query_pos'] + self.patch_queries(features)
        head_inputs['hidden_states'] = det.decoder(
            query=query_inputs['query'], key=memory, value=memory,
            query_pos=query_pos, key_pos=dec_inputs['memory_pos'],
            key_padding_mask=dec_inputs['memory_mask'],
            self_attn_mask=query_group_mask(det.num_queries, self.num_patches,
                                            inputs.device))
        return head_inputs

    def loss(self, inputs: Tensor,
             data_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        """mmdet's DETR losses (every decoder layer) + patch reconstruction.

        Args:
            inputs (Tensor): (B, 3, H, W) preprocessed images.
            data_samples (Sequence[DetDataSample]): The patches as target boxes
                (labels: patch ids) and their crops.

        Returns:
            dict[str, Tensor]: mmdet's ``loss_cls``, ``loss_bbox``,
            ``loss_iou`` (and ``d{i}.`` of the earlier layers), ``loss_feature``.
        """
        det_samples, ids, crops = self.split_samples(data_samples)
        if any(len(i) != self.num_patches or len(c) != self.num_patches
               for i, c in zip(ids, crops)):
            raise ValueError(f'UP-DETR needs {self.num_patches} patches per image, '
                             f'got {[len(i) for i in ids]}')
        # crop p is the patch with id p: patch p's feature goes to group p
        patch_crops = torch.stack(list(crops))
        b, p = patch_crops.shape[:2]
        features = self.target(patch_crops.flatten(0, 1).to(inputs.device))
        features = features.view(b, p, -1)

        head_inputs = self.forward_with_patches(inputs, det_samples, features)
        losses = self.detector_losses(head_inputs, det_samples)

        with torch.no_grad():
            cls_scores, bbox_preds = self.head_outputs(head_inputs)
        matches = self.matched_queries(cls_scores[-1], bbox_preds[-1], det_samples)
        last = head_inputs['hidden_states'][-1]
        pred = torch.cat([last[i, q] for i, (q, _) in enumerate(matches)])
        target = torch.cat([features[i, ids[i][g]]
                            for i, (_, g) in enumerate(matches)])
        error = (F.normalize(self.feature_head(pred), dim=1) -
                 F.normalize(target, dim=1)).pow(2).sum(1)
        losses['loss_feature'] = self.loss_feature_weight * error.sum() / max(
            len(error), 1)
        return losses
