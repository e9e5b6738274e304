from .object_levels import assign_scale_levels, correspondence_mask
from .view_boxes import pair_boxes_from_view

__all__ = ['assign_scale_levels', 'correspondence_mask',
           'pair_boxes_from_view']
