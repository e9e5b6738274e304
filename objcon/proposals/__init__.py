"""Proposal sources (where boxes and masks come from) and their cache."""
from .base import (BaseBatchProposalSource, BaseProposalSource, ProposalStatus,
                   Proposals)
from .box_filter import CCOP_FILTER, SOCO_FILTER, BoxFilter
from .box_ops import box_iou, nms, whole_image_box, xywh_to_xyxy, xyxy_to_xywh
from .cache import (CACHE_FORMAT, CacheBusyError, CacheDamagedError,
                    CacheMismatchError, ProposalCache, ProposalCacheWriter,
                    decode_boxes, encode_boxes, write_proposal_cache)
from .dataset_index import dataset_fingerprint, list_images, walk_files
from .felzenszwalb import FelzenszwalbSegments, masks_to_boxes
from .grid_boxes import GridBoxes
from .ground_truth import GroundTruthBoxes
from .heatmap import HeatMapProposals
from .image_ops import (content_digest, decode_image, downscaled_size,
                        image_format, read_file, read_image, resize_max_side,
                        scale_boxes_back, to_bgr8)
from .per_image_batch import PerImageBatchSource
from .precompute import (ImageProposals, load_cache_for, precompute_proposals,
                         process_image)
from .presets import PRESETS, parse_source
from .random_boxes import RandomBoxes
from .selective_search import SelectiveSearch
from .visualize import draw_proposals
from .whole_image import WholeImage

__all__ = [
    'BaseProposalSource', 'BaseBatchProposalSource', 'ProposalStatus', 'Proposals',
    'BoxFilter', 'SOCO_FILTER', 'CCOP_FILTER', 'box_iou', 'nms', 'whole_image_box',
    'xywh_to_xyxy', 'xyxy_to_xywh', 'CACHE_FORMAT', 'CacheMismatchError',
    'CacheDamagedError', 'CacheBusyError', 'ProposalCache', 'ProposalCacheWriter',
    'write_proposal_cache', 'encode_boxes', 'decode_boxes', 'dataset_fingerprint',
    'list_images', 'walk_files', 'FelzenszwalbSegments', 'masks_to_boxes',
    'GridBoxes', 'GroundTruthBoxes', 'HeatMapProposals', 'content_digest',
    'decode_image', 'downscaled_size', 'image_format', 'read_file', 'read_image',
    'resize_max_side', 'scale_boxes_back', 'to_bgr8', 'PerImageBatchSource',
    'ImageProposals', 'load_cache_for', 'precompute_proposals', 'process_image',
    'PRESETS', 'parse_source', 'RandomBoxes', 'SelectiveSearch', 'WholeImage',
    'draw_proposals'
]
