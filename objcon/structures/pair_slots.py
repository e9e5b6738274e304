"""The K box slots of a pair of views: which proposals, jitter and padding.

One implementation for the pipeline (``ObjectViews``, boxes from a cache or a
per-image source) and the models (boxes proposed inside the model on one view and
carried into the others). All boxes here are pixel ``xyxy`` on the original image;
:func:`~objcon.structures.boxes_to_view` maps them into a view (docs/boxes.md).
"""
from typing import NamedTuple, Optional, Tuple

import numpy as np

from .boxes import box_area, intersect
from .view_geometry import jitter_boxes

PADDINGS = ('per_view', 'joint')


class PairSlots(NamedTuple):
    """K slots of each view of a pair, on the original image.

    Slot i of view a and slot i of view b are the same object unless the padding
    was drawn per view; the ids say which proposal each slot holds (-1: the
    whole-image fallback), and the loss matches slots by id.
    """
    boxes_a: np.ndarray  # (K, 4) float64
    ids_a: np.ndarray  # (K,) int64
    boxes_b: np.ndarray  # (K, 4) float64
    ids_b: np.ndarray  # (K,) int64


class PairSlotSampler:
    """Chooses the boxes of a pair of views (SoCo's rules, docs/boxes.md).

    1. Candidates: the boxes whose part inside both crops has an area greater than
       ``min_area`` (original pixels) and of which at least
       ``min_visible_fraction`` of the area lies inside each crop.
    2. ``num_boxes`` candidates at random without replacement (all if fewer); a
       pair without candidates gets one whole-image box, id -1.
    3. View a's boxes jittered (optional, :func:`jitter_boxes`).
    4. Padding to ``num_boxes`` by repeating chosen boxes with their ids:
       ``'per_view'`` draws the repeats of each view on its own, as SoCo's
       reference does (with fewer than K common boxes the two views may repeat
       different objects, which changes each object's weight in the per-image
       mean of the loss); ``'joint'`` repeats the same slots in both views, so
       slot i is one object in both.

    Args:
        num_boxes (int): Slots per view, K. Defaults to 4.
        min_visible_fraction (float): See above. Defaults to 0.
        min_area (float): See above. Defaults to 0.
        padding (str): ``'per_view'`` or ``'joint'``. Defaults to ``'per_view'``.
    """

    def __init__(self, num_boxes: int = 4, min_visible_fraction: float = 0.,
                 min_area: float = 0., padding: str = 'per_view') -> None:
        if num_boxes < 1:
            raise ValueError(f'num_boxes must be >= 1, got {num_boxes}')
        if not 0. <= min_visible_fraction <= 1. or min_area < 0:
            raise ValueError('0 <= min_visible_fraction <= 1 and min_area >= 0 '
                             f'are required, got {min_visible_fraction}, {min_area}')
        if padding not in PADDINGS:
            raise ValueError(f'padding must be one of {PADDINGS}, got {padding!r}')
        self.num_boxes = int(num_boxes)
        self.min_visible_fraction = float(min_visible_fraction)
        self.min_area = float(min_area)
        self.padding = padding

    def candidates(self, boxes: np.ndarray, crop_a: np.ndarray,
                   crop_b: np.ndarray) -> np.ndarray:
        """Indices of the boxes the pair (a, b) may use.

        Args:
            boxes (np.ndarray): (N, 4) xyxy on the original image.
            crop_a (np.ndarray): (4,) view a's crop.
            crop_b (np.ndarray): (4,) view b's crop.

        Returns:
            np.ndarray: int64 indices into ``boxes``.
        """
        region = intersect(crop_a[None], crop_b)[0]
        # '> min_area' with min_area = 0 is the strict overlap test: a zero-area
        # sliver on a crop's edge is no object.
        keep = box_area(intersect(boxes, region)) > self.min_area
        keep &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        if self.min_visible_fraction > 0:
            area = box_area(boxes)
            for crop in (crop_a, crop_b):
                keep &= box_area(intersect(boxes, crop)) >= \
                    self.min_visible_fraction * area
        return np.nonzero(keep)[0]

    def choose(self, candidates: np.ndarray, rng=None) -> np.ndarray:
        """``num_boxes`` of ``candidates`` without replacement (all if fewer)."""
        rng = np.random.mtrand._rand if rng is None else rng
        k = min(self.num_boxes, len(candidates))
        return candidates[rng.choice(len(candidates), k, replace=False)]

    def slots(self, boxes: np.ndarray, ids: np.ndarray, chosen: np.ndarray,
              crop_a: np.ndarray, img_wh: Tuple[float, float],
              jitter: Optional[dict] = None, rng=None) -> PairSlots:
        """The pair's slots from the chosen boxes (steps 2-4 above).

        Args:
            boxes (np.ndarray): (N, 4) xyxy on the original image.
            ids (np.ndarray): (N,) proposal id of each box.
            chosen (np.ndarray): Indices into ``boxes`` (from :meth:`choose`);
                empty gives the whole-image box.
            crop_a (np.ndarray): (4,) view a's crop (a jittered box must still
                overlap it).
            img_wh (tuple[float, float]): Original image (W, H).
            jitter (dict, optional): ``dict(prob, shift, scale)`` of
                :func:`jitter_boxes` for view a. Defaults to None.
            rng (np.random.RandomState | np.random.Generator, optional): Random
                draws. Defaults to numpy's global generator.

        Returns:
            PairSlots: K slots per view.
        """
        rng = np.random.mtrand._rand if rng is None else rng
        if len(chosen) == 0:
            boxes_b = np.array([[0., 0., *img_wh]], np.float64)
            ids_b = np.array([-1], np.int64)
        else:
            boxes_b = np.asarray(boxes, np.float64)[chosen]
            ids_b = np.asarray(ids, np.int64)[chosen]
        boxes_a = boxes_b if jitter is None else jitter_boxes(
            boxes_b, crop_a, rng=rng, **jitter)
        ids_a = ids_b
        missing = self.num_boxes - len(ids_b)
        if missing > 0:
            extra_a = rng.choice(len(ids_b), missing)
            extra_b = extra_a if self.padding == 'joint' else \
                rng.choice(len(ids_b), missing)
            boxes_a = np.concatenate([boxes_a, boxes_a[extra_a]])
            ids_a = np.concatenate([ids_a, ids_a[extra_a]])
            boxes_b = np.concatenate([boxes_b, boxes_b[extra_b]])
            ids_b = np.concatenate([ids_b, ids_b[extra_b]])
        return PairSlots(boxes_a, ids_a, boxes_b, ids_b)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_boxes={self.num_boxes}, '
                f'min_visible_fraction={self.min_visible_fraction}, '
                f'min_area={self.min_area}, padding={self.padding!r})')
