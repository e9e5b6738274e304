"""Selective search with OpenCV's ximgproc, on a downscaled copy of the image."""
import ctypes
from typing import Optional, Tuple

import cv2
import numpy as np

from objcon.registry import PROPOSAL_SOURCES
from .base import BaseProposalSource
from .image_ops import downscaled_size, resize_max_side, scale_boxes_back


def _libc_srand():
    """C ``srand``, or None where the C library cannot be loaded."""
    try:
        return ctypes.CDLL(None).srand
    except (OSError, AttributeError):
        return None


_SRAND = _libc_srand()


@PROPOSAL_SOURCES.register_module()
class SelectiveSearch(BaseProposalSource):
    """Selective search (Uijlings et al.) by ``cv2.ximgproc.segmentation``.

    The image is downscaled so its longer side is at most ``max_side`` before the
    search (DETReg and CCOP search downscaled images too), and the boxes are mapped
    back to the input image's pixels.

    Args:
        mode (str): ``'fast'`` (``switchToSelectiveSearchFast``) or ``'quality'``.
            Defaults to ``'fast'``.
        max_side (int, optional): Longest side of the searched image; None searches
            at full resolution. Defaults to 128.
        base_k (int): Felzenszwalb ``k`` of the first strategy. Defaults to 150
            (OpenCV's default).
        inc_k (int): Increment of ``k`` between strategies. Defaults to 150.
        sigma (float): Gaussian smoothing of the segmentation. Defaults to 0.8.
        filter (dict, optional): :class:`~objcon.proposals.BoxFilter` arguments,
            applied in the input image's pixels. Defaults to None.
        empty_fallback (str): See :class:`BaseProposalSource`. Defaults to
            ``'whole_image'``.
        min_image_size (int): See :class:`BaseProposalSource`. Defaults to 8.
        num_threads (int, optional): ``cv2.setNumThreads`` before each search; 1
            suits multiprocessing. None leaves OpenCV's setting. Defaults to 1.
        seed (int, optional): OpenCV ranks the regions (the order of the boxes)
            with C ``rand()``, so the same image gives its boxes in another order
            at every call; the source calls C ``srand(seed)`` before each search
            to make the order, and anything that depends on it (top-k, CCOP's
            NMS), a function of the image. None leaves ``rand()`` alone.
            Defaults to 0.
    """

    def __init__(self,
                 mode: str = 'fast',
                 max_side: Optional[int] = 128,
                 base_k: int = 150,
                 inc_k: int = 150,
                 sigma: float = 0.8,
                 filter: Optional[dict] = None,
                 empty_fallback: str = 'whole_image',
                 min_image_size: int = 8,
                 num_threads: Optional[int] = 1,
                 seed: Optional[int] = 0) -> None:
        super().__init__(filter=filter, empty_fallback=empty_fallback,
                         min_image_size=min_image_size)
        if mode not in ('fast', 'quality'):
            raise ValueError(f"mode must be 'fast' or 'quality', got {mode!r}")
        self.mode = mode
        self.max_side = max_side
        self.base_k, self.inc_k, self.sigma = base_k, inc_k, sigma
        self.num_threads = num_threads
        self.seed = seed

    def box_unit(self, img_hw: Tuple[int, int]) -> Tuple[float, float]:
        # Boxes are integers of the downscaled image times the resize factors.
        nh, nw = downscaled_size(img_hw, self.max_side)
        return (img_hw[1] / nw, img_hw[0] / nh)

    def propose(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        if self.num_threads is not None:
            cv2.setNumThreads(self.num_threads)
        small, factors = resize_max_side(img, self.max_side)
        ss = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
        ss.setBaseImage(small)
        if self.mode == 'fast':
            ss.switchToSelectiveSearchFast(self.base_k, self.inc_k, self.sigma)
        else:
            ss.switchToSelectiveSearchQuality(self.base_k, self.inc_k, self.sigma)
        if self.seed is not None and _SRAND is not None:
            _SRAND(self.seed)
        rects = np.asarray(ss.process(), np.float32).reshape(-1, 4)  # xywh
        rects[:, 2:] += rects[:, :2]
        return scale_boxes_back(rects, factors, img.shape[:2])
