"""One composable filter for proposal boxes (SoCo's, CCOP's and any mix of rules)."""
from typing import Optional, Sequence, Tuple

import numpy as np

from objcon.structures import nms


class BoxFilter:
    """Keep the boxes that pass every rule given; unset rules are not applied.

    The rules, in the order they run (``w``, ``h`` box width/height, ``W``, ``H``
    image width/height, all in the pixels of the image the boxes belong to):

    1. ``min_size``: ``w >= min_size`` and ``h >= min_size``.
    2. ``aspect_range`` ``(lo, hi)``: ``lo <= w / h <= hi``.
    3. ``min_sqrt_area``: ``sqrt(w * h) >= min_sqrt_area``.
    4. ``rel_scale_range`` ``(lo, hi)``: ``lo <= sqrt(w h) / sqrt(W H) <= hi``.
    5. ``nms_iou``: greedy NMS at this IoU, visiting boxes in a random order
       (CCOP scores boxes randomly) drawn from ``seed``, so the result is a
       function of the boxes alone.
    6. ``max_num``: keep the first ``max_num`` survivors.

    With ``strict=True`` every bound of rules 1-4 is exclusive (``<`` / ``>``), as in
    CCOP's code; otherwise inclusive, as in SoCo's. If nothing survives, each entry of
    ``fallbacks`` (the keyword arguments of another :class:`BoxFilter`) is tried in
    turn on the *original* boxes, and the first non-empty result is returned.

    Examples: SoCo's filter is :data:`SOCO_FILTER`, CCOP's :data:`CCOP_FILTER`.

    Args:
        min_size (float, optional): Minimum box side. Defaults to None.
        aspect_range (tuple[float, float], optional): Allowed ``w / h``.
            Defaults to None.
        min_sqrt_area (float, optional): Minimum ``sqrt(w h)``. Defaults to None.
        rel_scale_range (tuple[float, float], optional): Allowed box scale relative
            to the image's. Defaults to None.
        nms_iou (float, optional): NMS IoU threshold. Defaults to None.
        max_num (int, optional): Maximum number of boxes kept. Defaults to None.
        strict (bool): Exclusive bounds. Defaults to False.
        seed (int): Seed of NMS's random order. Defaults to 0.
        fallbacks (Sequence[dict]): Filters tried in turn when nothing survives.
            Defaults to ().
    """

    def __init__(self,
                 min_size: Optional[float] = None,
                 aspect_range: Optional[Tuple[float, float]] = None,
                 min_sqrt_area: Optional[float] = None,
                 rel_scale_range: Optional[Tuple[float, float]] = None,
                 nms_iou: Optional[float] = None,
                 max_num: Optional[int] = None,
                 strict: bool = False,
                 seed: int = 0,
                 fallbacks: Sequence[dict] = ()) -> None:
        self.min_size = min_size
        self.aspect_range = tuple(aspect_range) if aspect_range else None
        self.min_sqrt_area = min_sqrt_area
        self.rel_scale_range = tuple(rel_scale_range) if rel_scale_range else None
        self.nms_iou = nms_iou
        self.max_num = max_num
        self.strict = strict
        self.seed = seed
        self.fallbacks = [BoxFilter(**f) for f in fallbacks]

    def _ge(self, a: np.ndarray, b: float) -> np.ndarray:
        return a > b if self.strict else a >= b

    def _le(self, a: np.ndarray, b: float) -> np.ndarray:
        return a < b if self.strict else a <= b

    def _apply_rules(self, boxes: np.ndarray, img_hw: Tuple[int, int]) -> np.ndarray:
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        keep = (w > 0) & (h > 0)  # degenerate boxes never pass
        if self.min_size is not None:
            keep &= self._ge(w, self.min_size) & self._ge(h, self.min_size)
        with np.errstate(divide='ignore', invalid='ignore'):
            if self.aspect_range is not None:
                ratio = w / h
                keep &= self._ge(ratio, self.aspect_range[0])
                keep &= self._le(ratio, self.aspect_range[1])
            scale = np.sqrt(np.clip(w * h, 0, None))
            if self.min_sqrt_area is not None:
                keep &= self._ge(scale, self.min_sqrt_area)
            if self.rel_scale_range is not None:
                rel = scale / np.sqrt(float(img_hw[0]) * float(img_hw[1]))
                keep &= self._ge(rel, self.rel_scale_range[0])
                keep &= self._le(rel, self.rel_scale_range[1])
        boxes = boxes[keep]
        if self.nms_iou is not None and len(boxes):
            scores = np.random.default_rng(self.seed).random(len(boxes))
            boxes = boxes[nms(boxes, scores, self.nms_iou)]
        if self.max_num is not None:
            boxes = boxes[:self.max_num]
        return boxes

    def __call__(self, boxes: np.ndarray, img_hw: Tuple[int, int]) -> np.ndarray:
        """Filter boxes.

        Args:
            boxes (np.ndarray): (N, 4) pixel xyxy boxes.
            img_hw (tuple[int, int]): (H, W) of the image the boxes belong to.

        Returns:
            np.ndarray: (M, 4) float32 boxes, M <= N, in their original order (NMS:
            in its visiting order).
        """
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        kept = self._apply_rules(boxes, img_hw)
        for fallback in self.fallbacks:
            if len(kept):
                break
            kept = fallback(boxes, img_hw)
        return kept

    def __repr__(self) -> str:
        args = {k: v for k, v in vars(self).items() if k != 'fallbacks'}
        return f'BoxFilter({args}, fallbacks={self.fallbacks})'


# SoCo's reference filter with its two fallbacks: without the scale rule, then
# w, h >= 32 only (the reference keeps w, h >= 32 in every stage).
SOCO_FILTER = dict(
    min_size=32,
    aspect_range=(1 / 3, 3),
    rel_scale_range=(0.3, 0.8),
    fallbacks=[dict(min_size=32, aspect_range=(1 / 3, 3)), dict(min_size=32)])

# CCOP's filter: aspect in (1/3, 3), sqrt(wh) > 20, NMS 0.5 on random scores, top 50.
CCOP_FILTER = dict(
    aspect_range=(1 / 3, 3),
    min_sqrt_area=20,
    nms_iou=0.5,
    max_num=50,
    strict=True)
