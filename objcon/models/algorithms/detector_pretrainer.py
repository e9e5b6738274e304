"""The base of pretraining methods that train a whole mmdet DETR-family detector."""
import copy
import inspect
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import Tensor

from objcon.registry import MODELS
from ..utils.frozen_backbone import load_backbone_checkpoint

TransferMap = Dict[str, List[Tuple[str, str]]]

# Detector parts other than backbone and neck, for each DETR-family detector
# (a prefix a detector lacks transfers nothing).
_HEAD_PREFIXES = ('encoder.', 'decoder.', 'query_embedding.', 'level_embed',
                  'reference_points_fc.', 'input_proj.', 'memory_trans_fc.',
                  'memory_trans_norm.', 'bbox_head.')
# Class-specific layers: their shape follows the number of classes.
_CLASS_PREFIXES = ('bbox_head.cls_branches.', 'bbox_head.fc_cls.')


class BaseDetectorPretrainer(BaseModel):
    """An mmdet detector trained on class-agnostic targets, plus a frozen network
    that embeds each target's image crop.

    What DETReg and UP-DETR share:

    * ``detector``: an mmdet DETR-family detector (``DeformableDETR``,
      ``DETR``) built from its own config with one class, "object"; its
      Hungarian assigner and its classification / L1 / GIoU losses (auxiliary
      losses of every decoder layer included) are mmdet's, called unchanged
      (:meth:`detector_losses`);
    * the data: mmdet's ``DetDataPreprocessor`` (the detector config's) on the
      image, and samples whose ``gt_instances`` are the target boxes, labelled
      with their object ids (:class:`~objcon.datasets.transforms.
      ProposalsAsInstances`), with ``object_crops`` (:class:`~objcon.datasets.
      transforms.ObjectCrops`); the ids pick each box's crop and are replaced by
      the "object" class before the detector sees them;
    * ``target``: a :class:`~objcon.models.utils.FrozenBackbone` that embeds the
      crops (no gradient, weights fixed);
    * which query each target box is matched to on the last decoder layer
      (:meth:`matched_queries`, mmdet's assigner again);
    * the transfer to mmdet's stock detector configs (:meth:`transfer_map`): the
      whole detector transfers, except its class-specific layers, which the
      fine-tuning detector re-initialises (:meth:`reinitialized_prefixes`).

    Args:
        detector (dict): The mmdet detector config; its ``data_preprocessor``
            becomes this model's, and its head must have ``num_classes=1``.
        target (dict): :class:`~objcon.models.utils.FrozenBackbone` config.
        init_backbone_from_target (bool): Initialise the detector's backbone
            (all its stages) from the target network's checkpoint (the
            references start the detector from the same frozen SwAV backbone);
            the backbone's own
            ``init_cfg`` is then dropped (nothing is downloaded). Defaults to
            True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    #: The stock mmdet config the converter checks the transfer against.
    transfer_config: Optional[str] = None

    def __init__(self,
                 detector: dict,
                 target: dict,
                 init_backbone_from_target: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        detector = copy.deepcopy(dict(detector))
        data_preprocessor = detector.pop('data_preprocessor', None)
        if init_backbone_from_target:
            detector['backbone'] = dict(detector['backbone'], init_cfg=None)
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.detector = MODELS.build(detector)
        num_classes = self.detector.bbox_head.num_classes
        if num_classes != 1:
            raise ValueError(f'{type(self).__name__} trains one class, "object": '
                             f'set the detector head\'s num_classes to 1, not '
                             f'{num_classes}')
        self.target = MODELS.build(target)
        self.init_backbone_from_target = init_backbone_from_target

    def init_weights(self) -> None:
        """mmdet's init of the detector; then, if asked, the detector's whole
        backbone from the target's checkpoint (the target itself keeps only the
        stages it pools)."""
        super().init_weights()
        if self.init_backbone_from_target:
            load_backbone_checkpoint(self.detector.backbone,
                                     self.target.checkpoint, self.target.prefix)

    # ---------------------------------------------------------------- data
    @staticmethod
    def split_samples(data_samples: Sequence[DetDataSample]
                      ) -> Tuple[List[DetDataSample], List[Tensor], List[Tensor]]:
        """The detector's samples (labels: class 0), each box's object id, and
        each image's crops.

        Args:
            data_samples (Sequence[DetDataSample]): Samples with
                ``gt_instances`` (labels = object ids) and ``object_crops``.

        Returns:
            tuple: detector samples, per image (N_i, ) int64 object ids, per
            image (M_i, 3, h, w) uint8 crops.
        """
        det_samples, ids, crops = [], [], []
        for sample in data_samples:
            if 'object_crops' not in sample:
                raise ValueError('samples need object_crops: put ObjectCrops '
                                 'and PackDetInputsWithCrops in the pipeline')
            gt = sample.gt_instances
            det_samples.append(DetDataSample(
                metainfo=sample.metainfo,
                gt_instances=InstanceData(bboxes=gt.bboxes,
                                          labels=torch.zeros_like(gt.labels))))
            ids.append(gt.labels)
            crops.append(sample.object_crops)
        return det_samples, ids, crops

    # -------------------------------------------------------------- detector
    def head_outputs(self, head_inputs: dict) -> Tuple[Tensor, Tensor]:
        """The head's per-layer class scores and normalised cxcywh boxes."""
        head = self.detector.bbox_head
        wanted = inspect.signature(head.forward).parameters
        return head(**{k: v for k, v in head_inputs.items() if k in wanted})

    def detector_losses(self, head_inputs: dict,
                        det_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        """mmdet's head loss, as the detector computes it in training."""
        return self.detector.bbox_head.loss(**head_inputs,
                                            batch_data_samples=det_samples)

    @torch.no_grad()
    def matched_queries(self, cls_scores: Tensor, bbox_preds: Tensor,
                        det_samples: Sequence[DetDataSample]
                        ) -> List[Tuple[Tensor, Tensor]]:
        """The queries the head's assigner matches to target boxes.

        Args:
            cls_scores (Tensor): (B, Q, C) scores of one decoder layer.
            bbox_preds (Tensor): (B, Q, 4) normalised cxcywh boxes.
            det_samples (Sequence[DetDataSample]): The detector's samples.

        Returns:
            list[tuple[Tensor, Tensor]]: Per image, the matched query indices
            and the index of the target box each is matched to.
        """
        head = self.detector.bbox_head
        matches = []
        for scores, boxes, sample in zip(cls_scores, bbox_preds, det_samples):
            img_h, img_w = sample.metainfo['img_shape']
            factor = boxes.new_tensor([img_w, img_h, img_w, img_h])
            pred = InstanceData(scores=scores,
                                bboxes=bbox_cxcywh_to_xyxy(boxes) * factor)
            assigned = head.assigner.assign(pred_instances=pred,
                                            gt_instances=sample.gt_instances,
                                            img_meta=sample.metainfo)
            queries = torch.nonzero(assigned.gt_inds > 0).squeeze(1)
            matches.append((queries, assigned.gt_inds[queries] - 1))
        return matches

    # --------------------------------------------------------------- forward
    def loss(self, inputs: Tensor,
             data_samples: Sequence[DetDataSample]) -> Dict[str, Tensor]:
        raise NotImplementedError

    def forward(self, inputs: Tensor, data_samples=None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], list, tuple]:
        """``loss``: the method's losses; ``predict``: the detector's
        class-agnostic boxes; ``tensor``: the detector's head outputs."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.detector.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.detector._forward(inputs, data_samples)
        raise RuntimeError(f'invalid mode {mode!r}')

    # -------------------------------------------------------------- transfer
    @classmethod
    def transfer_map(cls, model_cfg: dict) -> TransferMap:
        """What transfers to the mmdet detector: parts ``backbone``, ``neck``
        and ``head`` (the transformer, queries and box head). See
        :meth:`objcon.models.algorithms.BaseObjectSelfSupervisor.transfer_map`.
        """
        return dict(
            backbone=[('detector.backbone.', 'backbone.')],
            neck=[('detector.neck.', 'neck.')],
            head=[(f'detector.{p}', p) for p in _HEAD_PREFIXES])

    @classmethod
    def reinitialized_prefixes(cls, model_cfg: dict) -> List[str]:
        """Detector prefixes left out of the transfer: the class-specific layers,
        which the fine-tuning detector re-initialises for its classes."""
        return list(_CLASS_PREFIXES)
