from objcon.utils.mmcv_compat import patch_mmcv_adjust_hue
from .grid_region_map import GridRegionMap
from .load_image_or_skip import LoadImageOrSkip
from .load_proposals import LoadProposals
from .object_crops import ObjectCrops
from .object_views import ObjectViews
from .pack_det_inputs_with_crops import PackDetInputsWithCrops
from .pack_object_views import PackObjectViews
from .proposals_as_instances import ProposalsAsInstances

# The photometric view pipelines use mmpretrain's ColorJitter, whose hue step
# crashes under numpy 2 without this.
patch_mmcv_adjust_hue()

__all__ = [
    'GridRegionMap', 'LoadImageOrSkip', 'LoadProposals', 'ObjectCrops',
    'ObjectViews', 'PackDetInputsWithCrops', 'PackObjectViews',
    'ProposalsAsInstances'
]
