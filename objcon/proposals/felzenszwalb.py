"""Felzenszwalb-Huttenlocher segments as masks (DetCon's proposals)."""
from typing import Optional, Tuple

import cv2
import numpy as np

from objcon.registry import PROPOSAL_SOURCES
from .base import BaseProposalSource, Proposals
from .image_ops import resize_max_side, to_bgr8


@PROPOSAL_SOURCES.register_module()
class FelzenszwalbSegments(BaseProposalSource):
    """Graph-based segmentation by ``cv2.ximgproc.segmentation.createGraphSegmentation``.

    :meth:`segment` gives the label map (``results['proposal_masks']``), the boxes
    are the segments' bounding boxes. DetCon's reference used scale (``k``) 1000 and
    min size 1000 at full resolution; with ``max_side`` the image is segmented
    downscaled, ``min_size`` is scaled by the area ratio so that it keeps meaning
    pixels of the input image, and the label map is upscaled (nearest) back.

    Args:
        scale (float): Felzenszwalb ``k``. Defaults to 1000.
        min_size (int): Minimum segment area in input-image pixels. Defaults to 1000.
        sigma (float): Gaussian smoothing. Defaults to 0.8.
        max_side (int, optional): Longest side of the segmented image; None
            segments at full resolution. Defaults to None.
        filter (dict, optional): :class:`~objcon.proposals.BoxFilter` arguments for
            the boxes. Defaults to None.
        empty_fallback (str): See :class:`BaseProposalSource`. Defaults to
            ``'whole_image'``.
        min_image_size (int): See :class:`BaseProposalSource`. Defaults to 8.
    """
    has_masks = True

    def __init__(self,
                 scale: float = 1000,
                 min_size: int = 1000,
                 sigma: float = 0.8,
                 max_side: Optional[int] = None,
                 filter: Optional[dict] = None,
                 empty_fallback: str = 'whole_image',
                 min_image_size: int = 8) -> None:
        super().__init__(filter=filter, empty_fallback=empty_fallback,
                         min_image_size=min_image_size)
        self.scale, self.min_size, self.sigma = scale, min_size, sigma
        self.max_side = max_side

    def segment(self, img: np.ndarray) -> np.ndarray:
        """HxW int32 segment ids (0..S-1) of ``img``."""
        img = to_bgr8(img)
        h, w = img.shape[:2]
        small, (sx, sy) = resize_max_side(img, self.max_side)
        min_size = max(1, round(self.min_size / (sx * sy)))
        seg = cv2.ximgproc.segmentation.createGraphSegmentation(
            sigma=self.sigma, k=float(self.scale), min_size=min_size)
        labels = seg.processImage(small).astype(np.int32)
        if labels.shape != (h, w):
            labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
        return labels

    def propose(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        return masks_to_boxes(self.segment(img))

    def segment_and_propose(self, img: np.ndarray,
                            key: Optional[str] = None) -> Tuple[Proposals, np.ndarray]:
        """Label map and filtered boxes of ``img`` from a single segmentation.

        Returns:
            tuple: :class:`Proposals` and the HxW int32 label map.
        """
        labels = self.segment(img)
        return self._finish(masks_to_boxes(labels), labels.shape), labels


def masks_to_boxes(labels: np.ndarray) -> np.ndarray:
    """Bounding boxes (S, 4) float32 xyxy of the segments 0..S-1 of a label map."""
    num = int(labels.max()) + 1 if labels.size else 0
    if num <= 0:
        return np.zeros((0, 4), np.float32)
    ys, xs = np.indices(labels.shape)
    flat = labels.ravel()
    valid = flat >= 0
    flat, xs, ys = flat[valid], xs.ravel()[valid], ys.ravel()[valid]
    x1 = np.full(num, np.inf)
    y1 = np.full(num, np.inf)
    x2 = np.full(num, -np.inf)
    y2 = np.full(num, -np.inf)
    np.minimum.at(x1, flat, xs)
    np.minimum.at(y1, flat, ys)
    np.maximum.at(x2, flat, xs)
    np.maximum.at(y2, flat, ys)
    present = np.isfinite(x1)
    # +1: a segment covering pixel columns x1..x2 spans [x1, x2 + 1) in xyxy.
    return np.stack([x1, y1, x2 + 1, y2 + 1], 1)[present].astype(np.float32)
