"""Proposal sources (where boxes and masks come from) and their cache."""
from .base import BaseProposalSource, ProposalStatus, Proposals
from .box_filter import CCOP_FILTER, SOCO_FILTER, BoxFilter
from .cache import (CACHE_FORMAT, CacheBusyError, CacheDamagedError,
                    CacheMismatchError, ProposalCache, ProposalCacheWriter,
                    decode_boxes, decode_label_map, encode_boxes,
                    encode_label_map, write_proposal_cache)
from .dataset_index import dataset_fingerprint, list_images, walk_files
from .felzenszwalb import FelzenszwalbSegments, masks_to_boxes
from .grid_boxes import GridBoxes
from .ground_truth import GroundTruthBoxes
from .image_ops import (content_digest, decode_image, downscaled_size,
                        image_format, read_file, read_image, resize_max_side,
                        scale_boxes_back, to_bgr8)
from .precompute import (ImageProposals, load_cache_for, precompute_proposals,
                         process_image)
from .presets import PRESETS, parse_source
from .random_boxes import RandomBoxes
from .random_patches import RandomPatches
from .selective_search import SelectiveSearch
from .skimage_selective_search import SkimageSelectiveSearch
from .visualize import draw_proposals
from .whole_image import WholeImage

__all__ = [
    'BaseProposalSource', 'ProposalStatus', 'Proposals', 'BoxFilter', 'SOCO_FILTER',
    'CCOP_FILTER', 'CACHE_FORMAT', 'CacheMismatchError', 'CacheDamagedError',
    'CacheBusyError', 'ProposalCache', 'ProposalCacheWriter',
    'write_proposal_cache', 'encode_boxes', 'decode_boxes', 'encode_label_map',
    'decode_label_map', 'dataset_fingerprint',
    'list_images', 'walk_files', 'FelzenszwalbSegments', 'masks_to_boxes',
    'GridBoxes', 'GroundTruthBoxes', 'content_digest', 'decode_image',
    'downscaled_size', 'image_format', 'read_file', 'read_image', 'resize_max_side',
    'scale_boxes_back', 'to_bgr8', 'ImageProposals', 'load_cache_for',
    'precompute_proposals', 'process_image', 'PRESETS', 'parse_source',
    'RandomBoxes', 'RandomPatches', 'SelectiveSearch', 'SkimageSelectiveSearch',
    'WholeImage',
    'draw_proposals'
]
