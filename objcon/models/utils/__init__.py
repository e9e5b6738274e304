from .dense_correspondence import close_position_pairs, position_centres
from .feature_queue import FeatureQueue
from .foreach_cosine_ema import ForeachCosineEMA, cosine_momentum
from .frozen_backbone import FrozenBackbone, load_backbone_checkpoint
from .grouped_batch_norm import (forward_per_chunk, grouped_batch_norm,
                                 supports_grouped_batch_norm)
from .linear_curriculum import CCOP_CURRICULUM, LinearCurriculum
from .mask_pooling import label_maps_to_grid, mask_pool, sample_mask_ids
from .object_levels import (SOCO_LEVEL_THRESHOLDS, assign_scale_levels,
                            correspondence_mask)
from .region_points import features_at_points, sample_common_region_points
from .shuffle_bn import forward_shuffled

__all__ = [
    'FeatureQueue', 'LinearCurriculum', 'CCOP_CURRICULUM', 'ForeachCosineEMA',
    'cosine_momentum', 'SOCO_LEVEL_THRESHOLDS',
    'assign_scale_levels', 'correspondence_mask', 'forward_per_chunk',
    'grouped_batch_norm', 'supports_grouped_batch_norm', 'close_position_pairs',
    'position_centres', 'features_at_points', 'sample_common_region_points',
    'forward_shuffled', 'label_maps_to_grid', 'mask_pool', 'sample_mask_ids',
    'FrozenBackbone', 'load_backbone_checkpoint'
]
