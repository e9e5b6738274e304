"""Per-image proposal sources: where the pipeline's boxes come from.

:class:`BaseProposalSource` works on one decoded image: offline in
``tools/precompute_proposals.py`` (results cached) and online in the pipeline
transform ``LoadProposals``. Sources are registered in
``objcon.registry.PROPOSAL_SOURCES``. Boxes made inside a model from its own
features are the proposal generators of ``objcon.models.proposal_generators``.
"""
import functools
import inspect
from abc import ABCMeta, abstractmethod
from enum import IntEnum
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import MMLogger

from .box_filter import BoxFilter
from objcon.structures import whole_image_box
from .image_ops import to_bgr8


class ProposalStatus(IntEnum):
    """How an image's boxes were obtained (stored per image in the cache)."""
    OK = 0  # the source's boxes (after its filter)
    FALLBACK = 1  # nothing survived (or image too small): the whole-image box
    SKIPPED = 2  # the image could not be used (unreadable, corrupt...): no box


class Proposals(NamedTuple):
    """Boxes of one image and how they were obtained."""
    boxes: np.ndarray  # (N, 4) float32 pixel xyxy
    status: ProposalStatus
    message: str = ''  # why, when status is not OK
    # Pixel size (sx, sy) of the grid the boxes lie on (e.g. a downscaled search's);
    # the cache stores boxes as integers on it, exactly.
    unit: Tuple[float, float] = (1.0, 1.0)


class BaseProposalSource(metaclass=ABCMeta):
    """A per-image proposal source: ``source(img, key) -> (N, 4) float32 xyxy``.

    Subclasses implement :meth:`propose` (raw boxes on the image). This class turns
    the input into HxWx3 uint8 BGR, applies the optional :class:`BoxFilter` and the
    empty fallback, and records the constructor arguments in :attr:`params` (what a
    cache stores to say how it was made).

    Args:
        filter (dict, optional): :class:`BoxFilter` arguments, e.g.
            :data:`~objcon.proposals.SOCO_FILTER`. Defaults to None (no filter).
        empty_fallback (str): What an image with no surviving box gets:
            ``'whole_image'`` (one box ``[0, 0, W, H]``) or ``'none'`` (no box; the
            views transform decides). Defaults to ``'whole_image'``.
        min_image_size (int): Images with a side shorter than this skip the source
            and get the empty fallback. Defaults to 8.
    """
    #: Whether :meth:`segment` gives a label map (mask sources).
    has_masks = False

    def __init__(self,
                 filter: Optional[dict] = None,
                 empty_fallback: str = 'whole_image',
                 min_image_size: int = 8) -> None:
        if empty_fallback not in ('whole_image', 'none'):
            raise ValueError(
                f"empty_fallback must be 'whole_image' or 'none', got {empty_fallback!r}")
        self.filter = BoxFilter(**filter) if filter is not None else None
        self.empty_fallback = empty_fallback
        self.min_image_size = min_image_size

    def __init_subclass__(cls, **kwargs) -> None:
        # Record every subclass's constructor arguments, defaults included, so that
        # a cache can store exactly how its boxes were made.
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get('__init__')
        if init is None:
            return

        @functools.wraps(init)
        def recording_init(self, *args, **kw):
            if not hasattr(self, '_params'):  # the most derived class records
                bound = inspect.signature(init).bind(self, *args, **kw)
                bound.apply_defaults()
                params = dict(bound.arguments)
                params.pop('self')
                self._params = dict(type=type(self).__name__, **params)
            init(self, *args, **kw)

        cls.__init__ = recording_init

    @property
    def params(self) -> dict:
        """The config that rebuilds this source (type + all arguments)."""
        return dict(getattr(self, '_params', dict(type=type(self).__name__)))

    @abstractmethod
    def propose(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        """Raw boxes of one image, before the filter.

        Args:
            img (np.ndarray): HxWx3 uint8 BGR image.
            key (str, optional): The image's path relative to the dataset root
                (sources that look boxes up by image need it).

        Returns:
            np.ndarray: (N, 4) float32 pixel xyxy boxes on ``img``.
        """

    def get_proposals(self, img: np.ndarray, key: Optional[str] = None) -> Proposals:
        """Filtered boxes of one image with their :class:`ProposalStatus`.

        OpenCV failures on odd inputs are logged and give the empty fallback, so a
        single image never stops a run.
        """
        img = to_bgr8(img)
        hw = img.shape[:2]
        message = ''
        if min(hw) < self.min_image_size:
            boxes = np.zeros((0, 4), np.float32)
            message = f'image {hw[1]}x{hw[0]} smaller than {self.min_image_size} px'
        else:
            try:
                boxes = np.asarray(self.propose(img, key), np.float32).reshape(-1, 4)
            except cv2.error as e:
                boxes = np.zeros((0, 4), np.float32)
                message = f'OpenCV error: {str(e).strip().splitlines()[-1]}'
                MMLogger.get_current_instance().warning(
                    f'{type(self).__name__} failed on {key or "an image"}: {message}')
        return self._finish(boxes, hw, message)._replace(unit=self.box_unit(hw))

    def box_unit(self, img_hw: Tuple[int, int]) -> Tuple[float, float]:
        """Pixel size (sx, sy) of the grid this source's boxes lie on, for an image
        of size ``img_hw``; (1, 1) (whole pixels) unless a subclass knows better."""
        return (1.0, 1.0)

    def _finish(self, boxes: np.ndarray, hw: Tuple[int, int],
                message: str = '') -> Proposals:
        """Apply the filter and the empty fallback to raw boxes."""
        if self.filter is not None:
            boxes = self.filter(boxes, hw)
        if len(boxes):
            return Proposals(boxes, ProposalStatus.OK)
        message = message or 'no box survived the filter'
        if self.empty_fallback == 'whole_image':
            return Proposals(whole_image_box(hw), ProposalStatus.FALLBACK, message)
        return Proposals(boxes, ProposalStatus.FALLBACK, message)

    def __call__(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        """Filtered (N, 4) float32 xyxy boxes of ``img`` (see :meth:`get_proposals`)."""
        return self.get_proposals(img, key).boxes

    def segment(self, img: np.ndarray) -> np.ndarray:
        """HxW int32 segment id per pixel (-1: none); mask sources only."""
        raise NotImplementedError(f'{type(self).__name__} gives no masks')

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.params})'
