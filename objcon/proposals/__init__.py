"""Proposal sources (where boxes and masks come from) and their cache."""
from .base import BaseProposalSource, ProposalStatus, Proposals
from .box_filter import CCOP_FILTER, SOCO_FILTER, BoxFilter
from .cache import (CACHE_FORMAT, CacheMismatchError, ProposalCache,
                    ProposalCacheWriter, decode_boxes, encode_boxes,
                    write_proposal_cache)
from .dataset_index import dataset_fingerprint, list_images
from .felzenszwalb import FelzenszwalbSegments, masks_to_boxes
from .grid_boxes import GridBoxes
from .ground_truth import GroundTruthBoxes
from .image_ops import (downscaled_size, read_image, resize_max_side,
                        scale_boxes_back, to_bgr8)
from .precompute import load_cache_for, precompute_proposals, process_image
from .presets import PRESETS, parse_source
from .random_boxes import RandomBoxes
from .selective_search import SelectiveSearch
from .skimage_selective_search import SkimageSelectiveSearch
from .visualize import draw_proposals
from .whole_image import WholeImage

__all__ = [
    'BaseProposalSource', 'ProposalStatus', 'Proposals',
    'BoxFilter', 'SOCO_FILTER', 'CCOP_FILTER', 'CACHE_FORMAT', 'CacheMismatchError',
    'ProposalCache', 'ProposalCacheWriter', 'write_proposal_cache', 'encode_boxes',
    'decode_boxes',
    'dataset_fingerprint', 'list_images', 'FelzenszwalbSegments', 'masks_to_boxes',
    'GridBoxes', 'GroundTruthBoxes', 'downscaled_size', 'read_image', 'resize_max_side',
    'scale_boxes_back', 'to_bgr8', 'load_cache_for',
    'precompute_proposals', 'process_image', 'PRESETS', 'parse_source', 'RandomBoxes', 'SelectiveSearch',
    'SkimageSelectiveSearch', 'WholeImage', 'draw_proposals'
]
