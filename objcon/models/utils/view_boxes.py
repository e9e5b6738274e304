"""Boxes found on one view, inside the model, carried into the other views.

The in-model counterpart of ``ObjectViews``' box selection (docs/heatmap.md): the
pipeline made the views without proposals and recorded each view's geometry in
``view_params``; boxes proposed on one view (e.g. from a heat map of V1) are mapped
back to the original image and into every view of each pair with the same
functions ``ObjectViews`` uses (``objcon.datasets.transforms.view_geometry``).
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from objcon.datasets.transforms.view_geometry import (box_area, boxes_from_view,
                                                      boxes_to_view, intersect,
                                                      jitter_boxes)


def _view_wh(params: dict) -> Tuple[int, int]:
    h, w = params['img_shape'][:2]
    return int(w), int(h)


def pair_boxes_from_view(boxes: np.ndarray,
                         src_view: int,
                         view_params: Sequence[dict],
                         pairs: Sequence[Tuple[int, int]],
                         num_boxes: int = 4,
                         min_visible_fraction: float = 0.,
                         min_area: float = 0.,
                         jitter: Optional[dict] = None,
                         rng=None) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per pair of views, ``num_boxes`` slots of boxes proposed on ``src_view``.

    Same rules as ``ObjectViews`` (docs/boxes.md): a box is a candidate of pair
    (a, b) if its part inside both crops has an area > ``min_area`` (original
    pixels) and at least ``min_visible_fraction`` of it lies inside each crop;
    ``num_boxes`` candidates are chosen at random without replacement, view a's
    boxes are jittered (``jitter``), the list is padded by repeating slots (with
    their ids) and mapped into each view (clip, shift, scale, mirror). A pair
    without candidates gets the whole-image box, id -1.

    Args:
        boxes (np.ndarray): (N, 4) xyxy in ``src_view``'s pixels.
        src_view (int): Index of the view the boxes are on.
        view_params (Sequence[dict]): Per view ``crop`` (xyxy on the original
            image), ``flip`` and ``img_shape`` (h, w), as set by ``ObjectViews``.
        pairs (Sequence[tuple[int, int]]): The (a, b) view indices of each pair.
        num_boxes (int): Slots per pair, K. Defaults to 4.
        min_visible_fraction (float): See above. Defaults to 0.
        min_area (float): See above. Defaults to 0.
        jitter (dict, optional): ``dict(prob, shift, scale)`` of
            :func:`jitter_boxes`, drawn per pair. Defaults to None.
        rng (np.random.RandomState | np.random.Generator, optional): Random draws.
            Defaults to numpy's global generator.

    Returns:
        list[tuple]: Per pair ``(boxes_a (K, 4) float32, boxes_b (K, 4) float32,
        ids (K,) int64)`` in the pixels of views a and b; ids index ``boxes``.
    """
    rng = np.random.mtrand._rand if rng is None else rng
    src = view_params[src_view]
    crops = [np.asarray(p['crop'], np.float64) for p in view_params]
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    # Back onto the original image, where every view's crop is known.
    orig = boxes_from_view(boxes, crops[src_view], _view_wh(src), bool(src['flip']))
    valid = (orig[:, 2] > orig[:, 0]) & (orig[:, 3] > orig[:, 1])
    area = box_area(orig)
    out = []
    for a, b in pairs:
        region = intersect(crops[a][None], crops[b])[0]
        keep = valid & (box_area(intersect(orig, region)) > min_area)
        if min_visible_fraction > 0:
            for crop in (crops[a], crops[b]):
                keep &= box_area(intersect(orig, crop)) >= \
                    min_visible_fraction * area
        cand = np.nonzero(keep)[0]
        if len(cand) == 0:  # whole image, as ObjectViews
            boxes_b = np.array([[0, 0, *_orig_wh(crops)]], np.float64)
            ids = np.array([-1], np.int64)
        else:
            sel = cand[rng.choice(len(cand), min(num_boxes, len(cand)),
                                  replace=False)]
            boxes_b, ids = orig[sel], sel.astype(np.int64)
        boxes_a = boxes_b if jitter is None else jitter_boxes(
            boxes_b, crops[a], rng=rng, **jitter)
        missing = num_boxes - len(ids)
        if missing > 0:  # pad both views at once: slot i stays one object
            extra = rng.choice(len(ids), missing)
            boxes_a = np.concatenate([boxes_a, boxes_a[extra]])
            boxes_b = np.concatenate([boxes_b, boxes_b[extra]])
            ids = np.concatenate([ids, ids[extra]])
        out.append((
            boxes_to_view(boxes_a, crops[a], _view_wh(view_params[a]),
                          bool(view_params[a]['flip'])),
            boxes_to_view(boxes_b, crops[b], _view_wh(view_params[b]),
                          bool(view_params[b]['flip'])),
            ids))
    return out


def _orig_wh(crops: Sequence[np.ndarray]) -> Tuple[float, float]:
    # The original image is at least as large as the union of the crops; a
    # whole-image box larger than the image is clipped to each crop anyway.
    return (max(float(c[2]) for c in crops), max(float(c[3]) for c in crops))
