"""Geometry shared by the pipeline transforms and the models (docs/boxes.md)."""
from .box_jitter import jitter_candidates
from .boxes import (box_area, box_iou, intersect, nms, whole_image_box,
                    xywh_to_xyxy, xyxy_to_xywh)
from .pair_slots import PADDINGS, PairSlots, PairSlotSampler
from .view_geometry import (boxes_from_view, boxes_to_view, crop_overlap,
                            grid_cell, jitter_boxes, label_map_to_view,
                            random_cell_window, random_resized_crop)
from .view_pairs import ViewPair, ViewPairs, boxes_to_rois, view_pairs_from_boxes

__all__ = [
    'box_area', 'box_iou', 'intersect', 'nms', 'whole_image_box', 'xywh_to_xyxy',
    'xyxy_to_xywh', 'PADDINGS', 'PairSlots', 'PairSlotSampler', 'boxes_from_view',
    'boxes_to_view', 'crop_overlap', 'grid_cell', 'jitter_boxes',
    'label_map_to_view', 'random_cell_window', 'random_resized_crop', 'ViewPair',
    'ViewPairs', 'boxes_to_rois', 'view_pairs_from_boxes', 'jitter_candidates'
]
