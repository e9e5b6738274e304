"""Crop geometry of views: where a view is on its image, and boxes mapped between them.

Shared by the multi-view transforms and the models. Boxes follow docs/boxes.md: pixel ``xyxy`` in the image they are attached to. A view is
described by its crop ``[x1, y1, x2, y2]`` on the original image, its size ``(w, h)``
and whether it was mirrored; these functions map boxes between the two frames.
"""
import math
from typing import Sequence, Tuple

import numpy as np

from .boxes import box_area, intersect


def random_resized_crop(img_hw: Tuple[int, int],
                        scale: Sequence[float] = (0.08, 1.0),
                        ratio: Sequence[float] = (3. / 4., 4. / 3.),
                        max_attempts: int = 10) -> np.ndarray:
    """Draw a RandomResizedCrop rectangle as torchvision does, with np.random.

    Same algorithm as ``torchvision.transforms.RandomResizedCrop.get_params`` (what
    the SoCo reference uses): integer crop sides, up to ``max_attempts`` draws, then a
    central crop clamped to ``ratio``.

    Args:
        img_hw (tuple[int, int]): Height and width of the image.
        scale (Sequence[float]): Range of the crop area relative to the image.
            Defaults to (0.08, 1.0).
        ratio (Sequence[float]): Range of the crop aspect ratio (w / h), sampled
            log-uniformly. Defaults to (3/4, 4/3).
        max_attempts (int): Draws before the central fallback. Defaults to 10.

    Returns:
        np.ndarray: The crop ``[x1, y1, x2, y2]`` (float64, integer valued).
    """
    height, width = img_hw
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(max_attempts):
        target_area = area * np.random.uniform(scale[0], scale[1])
        aspect = math.exp(np.random.uniform(log_ratio[0], log_ratio[1]))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = np.random.randint(0, height - h + 1)
            left = np.random.randint(0, width - w + 1)
            return np.array([left, top, left + w, top + h], dtype=np.float64)
    # Central fallback, as torchvision.
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        w, h = int(round(height * max(ratio))), height
    else:
        w, h = width, height
    top, left = (height - h) // 2, (width - w) // 2
    return np.array([left, top, left + w, top + h], dtype=np.float64)


def grid_cell(view_wh: Tuple[int, int], grid: Tuple[int, int],
              index: int) -> np.ndarray:
    """Cell ``index`` of a ``cols x rows`` grid laid over a view.

    Cells are numbered row by row (left to right, then top to bottom); their
    edges are the view's width and height divided evenly and rounded to whole
    pixels, so the cells tile the view exactly.

    Args:
        view_wh (tuple[int, int]): Width and height of the view.
        grid (tuple[int, int]): Columns and rows.
        index (int): The cell, in ``[0, cols * rows)``.

    Returns:
        np.ndarray: The cell ``[x1, y1, x2, y2]`` in the view's pixels (float64,
        integer valued).
    """
    cols, rows = grid
    if not 0 <= index < cols * rows:
        raise ValueError(f'cell {index} of a {cols}x{rows} grid')
    width, height = view_wh
    if width < cols or height < rows:
        raise ValueError(f'a {cols}x{rows} grid needs a view of at least '
                         f'{cols}x{rows} px, got {width}x{height}')
    col, row = index % cols, index // cols
    xs = [round(width * c / cols) for c in (col, col + 1)]
    ys = [round(height * r / rows) for r in (row, row + 1)]
    return np.array([xs[0], ys[0], xs[1], ys[1]], dtype=np.float64)


def random_cell_window(view_wh: Tuple[int, int], grid: Tuple[int, int],
                       index: int, side: float = 1.0, rng=None) -> np.ndarray:
    """A window inside a grid cell (:func:`grid_cell`): its sides are ``side``
    times the cell's (rounded, at least one pixel), its position uniform over
    the whole-pixel positions inside the cell (the patches of a jigsaw grid).

    Args:
        view_wh (tuple[int, int]): Width and height of the view.
        grid (tuple[int, int]): Columns and rows.
        index (int): The cell.
        side (float): Window side / cell side, in (0, 1]; 1 is the cell.
            Defaults to 1.0.
        rng (np.random.RandomState | np.random.Generator, optional): Where the
            draws come from. Defaults to numpy's global generator.

    Returns:
        np.ndarray: The window ``[x1, y1, x2, y2]`` in the view's pixels
        (float64, integer valued).
    """
    if not 0 < side <= 1:
        raise ValueError(f'side must be in (0, 1], got {side}')
    rng = np.random.mtrand._rand if rng is None else rng
    x1, y1, x2, y2 = grid_cell(view_wh, grid, index)
    w = max(int(round(side * (x2 - x1))), 1)
    h = max(int(round(side * (y2 - y1))), 1)
    # uniform over the whole-pixel positions (uniform() is common to both
    # numpy generator interfaces)
    left = x1 + int(rng.uniform() * (x2 - x1 - w + 1))
    top = y1 + int(rng.uniform() * (y2 - y1 - h + 1))
    return np.array([left, top, left + w, top + h], dtype=np.float64)


def boxes_to_view(boxes: np.ndarray, crop: np.ndarray, view_wh: Tuple[int, int],
                  flip: bool) -> np.ndarray:
    """Map original-image boxes into a view: clip, shift, scale, mirror.

    Every box must overlap ``crop`` with a positive area; the result is float32 with
    ``0 <= x1 < x2 <= W`` and ``0 <= y1 < y2 <= H`` of the view.

    Args:
        boxes (np.ndarray): (N, 4) xyxy on the original image.
        crop (np.ndarray): (4,) the view's crop xyxy on the original image.
        view_wh (tuple[int, int]): Width and height of the view.
        flip (bool): Whether the view is mirrored horizontally.

    Returns:
        np.ndarray: (N, 4) float32 xyxy in the view's pixels.
    """
    boxes = intersect(np.asarray(boxes, np.float64).reshape(-1, 4), crop)
    vw, vh = view_wh
    sx = vw / (crop[2] - crop[0])
    sy = vh / (crop[3] - crop[1])
    out = (boxes - crop[[0, 1, 0, 1]]) * np.array([sx, sy, sx, sy])
    if flip:
        out[:, [0, 2]] = vw - out[:, [2, 0]]
    out = np.clip(out, 0, [vw, vh, vw, vh])
    return _strictly_positive(out.astype(np.float32), vw, vh)


def boxes_from_view(boxes: np.ndarray, crop: np.ndarray, view_wh: Tuple[int, int],
                    flip: bool) -> np.ndarray:
    """Map view boxes back onto the original image (inverse of `boxes_to_view`).

    Args:
        boxes (np.ndarray): (N, 4) xyxy in the view's pixels.
        crop (np.ndarray): (4,) the view's crop xyxy on the original image.
        view_wh (tuple[int, int]): Width and height of the view.
        flip (bool): Whether the view is mirrored horizontally.

    Returns:
        np.ndarray: (N, 4) float64 xyxy on the original image.
    """
    out = np.asarray(boxes, np.float64).reshape(-1, 4).copy()
    vw, vh = view_wh
    if flip:
        out[:, [0, 2]] = vw - out[:, [2, 0]]
    sx = (crop[2] - crop[0]) / vw
    sy = (crop[3] - crop[1]) / vh
    return out * np.array([sx, sy, sx, sy]) + crop[[0, 1, 0, 1]]


def label_map_to_view(label_map: np.ndarray, crop: np.ndarray,
                      map_wh: Tuple[int, int], flip: bool) -> np.ndarray:
    """A view's label map: nearest sampling of the original image's map.

    Output pixel (i, j) takes the label of the original pixel containing the
    centre of the view's pixel, ``x = x1 + (j + 0.5) (x2 - x1) / w`` (mirrored on
    flip) and likewise y. The labels are indexed, never interpolated or cast, so
    any integer ids (e.g. segment ids > 255) survive.

    Args:
        label_map (np.ndarray): (H, W) labels of the original image.
        crop (np.ndarray): (4,) the view's crop xyxy on the original image.
        map_wh (tuple[int, int]): Width and height of the output map (the
            view's, or a smaller grid covering the same crop).
        flip (bool): Whether the view is mirrored horizontally.

    Returns:
        np.ndarray: (h, w) labels, same dtype as ``label_map``.
    """
    height, width = label_map.shape[:2]
    mw, mh = map_wh
    x1, y1, x2, y2 = np.asarray(crop, np.float64)
    xs = x1 + (np.arange(mw) + 0.5) * (x2 - x1) / mw
    ys = y1 + (np.arange(mh) + 0.5) * (y2 - y1) / mh
    cols = np.clip(np.floor(xs).astype(np.int64), 0, width - 1)
    rows = np.clip(np.floor(ys).astype(np.int64), 0, height - 1)
    if flip:
        cols = cols[::-1]
    return np.ascontiguousarray(label_map[rows[:, None], cols[None, :]])


def crop_overlap(crop: np.ndarray, other: np.ndarray) -> float:
    """Intersection area of two crops over the larger crop's area.

    Args:
        crop (np.ndarray): (4,) xyxy.
        other (np.ndarray): (4,) xyxy.

    Returns:
        float: In [0, 1].
    """
    pair = np.stack([np.asarray(crop, np.float64), np.asarray(other, np.float64)])
    inter = box_area(intersect(pair[:1], pair[1]))[0]
    return float(inter / max(box_area(pair).max(), 1e-12))


def jitter_boxes(boxes: np.ndarray, crop: np.ndarray, prob: float = 0.5,
                 shift: float = 0.1, scale: float = 0.1, rng=None) -> np.ndarray:
    """SoCo's box jitter: per box, with probability ``prob``,
    ``x1 += U(-shift, shift) w``, ``y1 += U(-shift, shift) h``,
    ``w *= 1 + U(-scale, scale)``, ``h *= 1 + U(-scale, scale)``; a jittered box
    that leaves ``crop`` keeps its original value.

    Args:
        boxes (np.ndarray): (N, 4) xyxy on the original image.
        crop (np.ndarray): (4,) the crop xyxy the boxes must still overlap.
        prob (float): Jitter probability per box. Defaults to 0.5.
        shift (float): Relative shift range. Defaults to 0.1.
        scale (float): Relative scale range. Defaults to 0.1.
        rng (np.random.RandomState | np.random.Generator, optional): Where the
            draws come from. Defaults to numpy's global generator.

    Returns:
        np.ndarray: (N, 4) float64 xyxy.
    """
    rng = np.random.mtrand._rand if rng is None else rng
    out = np.asarray(boxes, np.float64).copy()
    for i, (x1, y1, x2, y2) in enumerate(out.copy()):
        if rng.uniform() >= prob:  # same draw as np.random.rand()
            continue
        u = rng.uniform(-1., 1., 4)
        w, h = x2 - x1, y2 - y1
        nx1 = x1 + u[0] * shift * w
        ny1 = y1 + u[1] * shift * h
        nw = w * (1. + u[2] * scale)
        nh = h * (1. + u[3] * scale)
        box = np.array([nx1, ny1, nx1 + nw, ny1 + nh])
        if box_area(intersect(box[None], crop))[0] > 0:
            out[i] = box
    return out


def _strictly_positive(boxes: np.ndarray, vw: float, vh: float) -> np.ndarray:
    """Keep x1 < x2 and y1 < y2 after float32 rounding of sub-pixel boxes."""
    for lo, hi, limit in ((0, 2, vw), (1, 3, vh)):
        bad = boxes[:, hi] <= boxes[:, lo]
        if bad.any():
            up = np.nextafter(boxes[bad, lo], np.float32(np.inf))
            at_edge = up > limit
            boxes[bad, hi] = np.where(at_edge, np.float32(limit), up)
            boxes[bad, lo] = np.where(
                at_edge, np.nextafter(np.float32(limit), np.float32(0)),
                boxes[bad, lo])
    return boxes
