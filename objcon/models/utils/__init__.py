from .foreach_cosine_ema import ForeachCosineEMA
from .grouped_batch_norm import grouped_batch_norm, supports_grouped_batch_norm
from .object_levels import assign_scale_levels, correspondence_mask
from .view_boxes import pair_boxes_from_view

__all__ = [
    'ForeachCosineEMA', 'assign_scale_levels', 'correspondence_mask',
    'grouped_batch_norm', 'pair_boxes_from_view', 'supports_grouped_batch_norm'
]
