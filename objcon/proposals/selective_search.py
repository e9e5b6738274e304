"""Selective search with OpenCV's ximgproc, on a downscaled copy of the image."""
import ctypes
from typing import Optional, Sequence, Tuple

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
# 'custom' mode's building blocks: colour conversions and similarity factories.
_COLOR_SPACES = dict(BGR=None, HSV=cv2.COLOR_BGR2HSV, Lab=cv2.COLOR_BGR2Lab)
_SIMILARITIES = dict(
    color='createSelectiveSearchSegmentationStrategyColor',
    fill='createSelectiveSearchSegmentationStrategyFill',
    size='createSelectiveSearchSegmentationStrategySize',
    texture='createSelectiveSearchSegmentationStrategyTexture')


@PROPOSAL_SOURCES.register_module()
class SelectiveSearch(BaseProposalSource):
    """Selective search (Uijlings et al.) by ``cv2.ximgproc.segmentation``.

    The image is downscaled so its longer side is at most ``max_side`` before the
    search (CCOP searches downscaled images too), or resized to exactly
    ``search_size`` (DETReg's 128x128, aspect not kept), and the boxes are mapped
    back to the input image's pixels.

    Args:
        mode (str): ``'fast'`` (``switchToSelectiveSearchFast``: 2 colour spaces x
            2 ``k`` x 2 strategies), ``'quality'`` (more of each) or ``'single'``
            (``switchToSingleStrategy``: one colour space, ``k = base_k``, one
            strategy; several times faster than fast) or ``'custom'`` (the
            ``color_spaces`` x ``ks`` x ``strategies`` given below, OpenCV's
            building blocks). Defaults to ``'custom'``, with the defaults below:
            on the benchmark (docs/proposals.md) it covers about 90% of the boxes
            of SoCo's own search on photographs (after SoCo's filter), about 50x
            faster than the pure-Python search SoCo used.
        max_side (int, optional): Longest side of the searched image; None searches
            at full resolution. Defaults to 176.
        search_size (tuple[int, int], optional): (w, h) the image is resized to
            before the search, up or down, aspect not kept; replaces
            ``max_side``. Defaults to None.
        base_k (int): ``'fast'``, ``'quality'``, ``'single'`` modes: Felzenszwalb
            ``k`` of the first segmentation. Defaults to 150
            (OpenCV's default).
        inc_k (int): Increment of ``k`` between strategies. Defaults to 150.
        sigma (float, optional): Gaussian smoothing of the segmentation. None:
            0.5 in ``'custom'`` mode (SoCo's 0.9 at full resolution is about 0.3 on
            an image downscaled 3x; 0.5 did best on the benchmark), OpenCV's 0.8
            in the other modes. Defaults to None.
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
        color_spaces (Sequence[str]): ``'custom'`` mode: colour spaces searched,
            among ``'BGR', 'HSV', 'Lab'``. Defaults to ``('HSV', )``.
        ks (Sequence[float]): ``'custom'`` mode: Felzenszwalb ``k`` of each
            initial segmentation (min size = k, as OpenCV's fast mode does).
            Defaults to (175,).
        strategies (Sequence[str]): ``'custom'`` mode: merge strategies; each is
            ``'+'``-joined similarities among ``color, fill, size, texture``
            (e.g. ``'color+fill+size'``; texture is the costly one). Defaults to
            ``('fill+size', 'size')``.
    """

    def __init__(self,
                 mode: str = 'custom',
                 max_side: Optional[int] = 176,
                 search_size: Optional[Tuple[int, int]] = None,
                 base_k: int = 150,
                 inc_k: int = 150,
                 sigma: Optional[float] = None,
                 filter: Optional[dict] = None,
                 empty_fallback: str = 'whole_image',
                 min_image_size: int = 8,
                 num_threads: Optional[int] = 1,
                 seed: Optional[int] = 0,
                 color_spaces: Sequence[str] = ('HSV', ),
                 ks: Sequence[float] = (175, ),
                 strategies: Sequence[str] = ('fill+size', 'size')) -> None:
        super().__init__(filter=filter, empty_fallback=empty_fallback,
                         min_image_size=min_image_size)
        if mode not in ('fast', 'quality', 'single', 'custom'):
            raise ValueError(f"mode must be 'fast', 'quality', 'single' or 'custom', "
                             f'got {mode!r}')
        unknown = set(color_spaces) - set(_COLOR_SPACES) | {
            n for st in strategies for n in st.split('+')} - set(_SIMILARITIES)
        if unknown:
            raise ValueError(
                f'unknown colour spaces or similarities: {sorted(unknown)}')
        self.color_spaces, self.ks = tuple(color_spaces), tuple(ks)
        self.strategies = tuple(strategies)
        self.mode = mode
        self.max_side = max_side
        if search_size is not None:
            search_size = tuple(int(v) for v in search_size)
            if len(search_size) != 2 or min(search_size) < 1:
                raise ValueError(f'search_size must be (w, h) with positive sides, '
                                 f'got {search_size!r}')
        self.search_size = search_size
        if sigma is None:
            sigma = 0.5 if mode == 'custom' else 0.8
        self.base_k, self.inc_k, self.sigma = base_k, inc_k, sigma
        self.num_threads = num_threads
        self.seed = seed

    def box_unit(self, img_hw: Tuple[int, int]) -> Tuple[float, float]:
        # Boxes are integers of the searched image times the resize factors.
        if self.search_size is not None:
            nw, nh = self.search_size
        else:
            nh, nw = downscaled_size(img_hw, self.max_side)
        return (img_hw[1] / nw, img_hw[0] / nh)

    def _searched_image(self, img: np.ndarray
                        ) -> Tuple[np.ndarray, Tuple[float, float]]:
        """The image the search runs on and the factors back to ``img``."""
        if self.search_size is None:
            return resize_max_side(img, self.max_side)
        (nw, nh), (h, w) = self.search_size, img.shape[:2]
        small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA
                           if nw <= w and nh <= h else cv2.INTER_LINEAR)
        return small, (w / nw, h / nh)

    def propose(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        if self.num_threads is not None:
            cv2.setNumThreads(self.num_threads)
        small, factors = self._searched_image(img)
        seg = cv2.ximgproc.segmentation
        ss = seg.createSelectiveSearchSegmentation()
        if self.mode == 'custom':
            for space in self.color_spaces:
                code = _COLOR_SPACES[space]
                ss.addImage(small if code is None else cv2.cvtColor(small, code))
            for k in self.ks:
                ss.addGraphSegmentation(
                    seg.createGraphSegmentation(self.sigma, float(k), int(k)))
            for strategy in self.strategies:
                parts = [getattr(seg, _SIMILARITIES[n])() for n in strategy.split('+')]
                ss.addStrategy(parts[0] if len(parts) == 1 else
                               seg.createSelectiveSearchSegmentationStrategyMultiple(
                                   *parts))
        else:
            ss.setBaseImage(small)
        if self.mode == 'fast':
            ss.switchToSelectiveSearchFast(self.base_k, self.inc_k, self.sigma)
        elif self.mode == 'single':
            ss.switchToSingleStrategy(self.base_k, self.sigma)
        elif self.mode == 'quality':
            ss.switchToSelectiveSearchQuality(self.base_k, self.inc_k, self.sigma)
        if self.seed is not None and _SRAND is not None:
            _SRAND(self.seed)
        rects = np.asarray(ss.process(), np.float32).reshape(-1, 4)  # xywh
        rects[:, 2:] += rects[:, :2]
        return scale_boxes_back(rects, factors, img.shape[:2])
