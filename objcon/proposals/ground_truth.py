"""Ground-truth boxes from a COCO json, for ablations only (uses labels)."""
import json
from collections import defaultdict
from typing import Optional

import numpy as np
from mmengine.logging import MMLogger

from objcon.registry import PROPOSAL_SOURCES
from .base import BaseProposalSource
from objcon.structures import xywh_to_xyxy

_WARNING = """
##############################################################################
#  GroundTruthBoxes: proposals are the ANNOTATED boxes of {ann_file}.
#  This uses human labels during "self-supervised" pretraining. Results are an
#  upper-bound ablation, not a self-supervised result. (CCOP's public config
#  did this silently; objcon only does it when a config asks, and says so.)
##############################################################################"""


@PROPOSAL_SOURCES.register_module()
class GroundTruthBoxes(BaseProposalSource):
    """The COCO annotations' boxes of each image, looked up by its key.

    Building it logs a loud warning: it makes pretraining use labels.

    Args:
        ann_file (str): COCO-format json; ``file_name`` of each image must equal the
            key the source is called with (the path relative to the image root).
        include_crowd (bool): Keep ``iscrowd`` boxes. Defaults to False.
        filter (dict, optional): See :class:`BaseProposalSource`. Defaults to None.
        empty_fallback (str): See :class:`BaseProposalSource`. Defaults to
            ``'whole_image'``.
        min_image_size (int): See :class:`BaseProposalSource`. Defaults to 1.
    """

    def __init__(self,
                 ann_file: str,
                 include_crowd: bool = False,
                 filter: Optional[dict] = None,
                 empty_fallback: str = 'whole_image',
                 min_image_size: int = 1) -> None:
        super().__init__(filter=filter, empty_fallback=empty_fallback,
                         min_image_size=min_image_size)
        MMLogger.get_current_instance().warning(_WARNING.format(ann_file=ann_file))
        with open(ann_file) as f:
            coco = json.load(f)
        id_to_name = {im['id']: im['file_name'] for im in coco['images']}
        boxes = defaultdict(list)
        for ann in coco.get('annotations', []):
            if ann.get('iscrowd', 0) and not include_crowd:
                continue
            boxes[id_to_name[ann['image_id']]].append(ann['bbox'])
        self.boxes = {name: xywh_to_xyxy(boxes.get(name, []))
                      for name in id_to_name.values()}

    def propose(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        if key not in self.boxes:
            raise KeyError(f'{key!r} is not an image of the annotation file '
                           f'({len(self.boxes)} images)')
        return self.boxes[key].copy()
