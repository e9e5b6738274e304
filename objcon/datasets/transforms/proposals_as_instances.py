"""Pipeline transform that makes proposals the instances a detector learns."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.structures.bbox import HorizontalBoxes

from objcon.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ProposalsAsInstances(BaseTransform):
    """Turn ``results['proposals']`` into mmdet's ground-truth instance keys.

    Class-agnostic pretraining targets (DETReg's boxes, UP-DETR's patches): the
    boxes become ``gt_bboxes`` and each box's *label is its index* among the
    proposals (its object id), so that mmdet's geometric transforms, which keep
    labels aligned with the boxes they keep (``RandomCrop`` drops boxes), carry
    the link from each target box to its crop (:class:`ObjectCrops`). The model
    reads the ids and trains one "object" class; no annotation is read.

    Required keys: ``proposals`` ((N, 4) float32 xyxy on ``img``).

    Added keys: ``gt_bboxes`` (``HorizontalBoxes``), ``gt_bboxes_labels``
    ((N, ) int64 object ids 0..N-1), ``gt_ignore_flags`` ((N, ) bool, False).

    Removed keys: ``proposals``.

    Args:
        max_num (int, optional): Keep at most the first ``max_num`` boxes.
            Defaults to None (all).
    """

    def __init__(self, max_num: Optional[int] = None) -> None:
        self.max_num = max_num

    def transform(self, results: dict) -> dict:
        boxes = np.asarray(results.pop('proposals'), np.float32).reshape(-1, 4)
        if self.max_num is not None:
            boxes = boxes[:self.max_num]
        results['gt_bboxes'] = HorizontalBoxes(boxes)
        results['gt_bboxes_labels'] = np.arange(len(boxes), dtype=np.int64)
        results['gt_ignore_flags'] = np.zeros(len(boxes), dtype=bool)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(max_num={self.max_num})'
