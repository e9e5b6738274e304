"""Selective search as SoCo's reference computes it (scikit-image segmentation)."""
import heapq
from typing import List, Optional, Tuple

import numpy as np
from scipy import ndimage
from skimage.color import rgb2hsv
from skimage.feature import local_binary_pattern
from skimage.segmentation import felzenszwalb
from skimage.util import img_as_float

from objcon.registry import PROPOSAL_SOURCES
from .base import BaseProposalSource

# Pairs of regions tested for neighbourhood (or scored) per numpy call: bounds the
# memory of the vectorised steps on images with thousands of initial regions.
_BLOCK = 1 << 22


@PROPOSAL_SOURCES.register_module()
class SkimageSelectiveSearch(BaseProposalSource):
    """The selective search SoCo's proposals were made with, at full resolution.

    SoCo ran a pure-Python selective search (the PyPI ``selectivesearch`` package,
    slightly modified) on every full-resolution image. This source computes the
    same boxes with vectorised numpy and a heap; skimage's segmentation dominates
    either way (about 0.5 s of CPU per 500 px photograph), so it is
    opt-in, for parity runs (preset ``soco-reference``). The steps:

    1. Felzenszwalb-Huttenlocher segmentation by ``skimage.segmentation.
       felzenszwalb`` on the RGB image in [0, 1] (``scale``, ``sigma``,
       ``min_size``); regions numbered in raster order of their first pixel.
    2. Per region: bounding box, pixel count, a colour histogram of skimage's HSV
       of the 0-255 image (``colour_bins`` per channel over ``colour_range``) and a
       texture histogram of local binary patterns (skimage, 8 neighbours at radius
       1, per RGB channel; ``texture_bins`` per channel over ``texture_range``),
       each divided by the pixel count. The reference uses LBP, not the paper's
       Gaussian-derivative orientation histograms.
    3. Neighbours as the reference defines them: region ``b`` (numbered after
       ``a``) neighbours ``a`` when one of ``b``'s bounding-box corners lies
       strictly inside ``a``'s bounding box (not pixel adjacency).
    4. Hierarchical grouping: repeatedly merge the pair of highest similarity,
       colour + texture histogram intersection + size (``1 - (s_a + s_b) / s_img``)
       + fill (``1 - (bbox_ab - s_a - s_b) / s_img``); a tie goes to the pair
       recorded last, as in the reference. The merged region inherits both
       neighbour lists; histograms are size-weighted means.
    5. Every region of the hierarchy, the initial ones first, then in merge order,
       gives a box ``[min_x, min_y, max_x, max_y]`` of its pixel coordinates:
       like the reference, the last row and column are not counted in (its width
       is ``max_x - min_x``).

    Two of the reference's quirks are parameters, at their reference values: the
    colour histogram bins H and S (in [0, 1]) over [0, 255], so both fall in the
    first bin and only V discriminates (``colour_range``); SoCo bins the LBP codes
    (0-255) over [0, 255] where the PyPI package 0.4 bins them over [0, 1]
    (``texture_range=(0, 1)`` reproduces the package's boxes).

    Args:
        scale (float): Felzenszwalb ``scale``. Defaults to 300 (SoCo).
        sigma (float): Felzenszwalb Gaussian smoothing. Defaults to 0.9 (SoCo).
        min_size (int): Felzenszwalb minimum region size in pixels. Defaults to 100
            (SoCo).
        colour_bins (int): Colour histogram bins per channel. Defaults to 25.
        colour_range (tuple[float, float]): Range binned by the colour histogram.
            Defaults to (0, 255).
        texture_bins (int): Texture histogram bins per channel. Defaults to 10.
        texture_range (tuple[float, float]): Range binned by the texture histogram.
            Defaults to (0, 255).
        filter (dict, optional): :class:`~objcon.proposals.BoxFilter` arguments,
            e.g. :data:`~objcon.proposals.SOCO_FILTER`. Defaults to None.
        empty_fallback (str): See :class:`BaseProposalSource`. Defaults to
            ``'whole_image'``.
        min_image_size (int): See :class:`BaseProposalSource`. Defaults to 8.
    """

    def __init__(self,
                 scale: float = 300,
                 sigma: float = 0.9,
                 min_size: int = 100,
                 colour_bins: int = 25,
                 colour_range: Tuple[float, float] = (0.0, 255.0),
                 texture_bins: int = 10,
                 texture_range: Tuple[float, float] = (0.0, 255.0),
                 filter: Optional[dict] = None,
                 empty_fallback: str = 'whole_image',
                 min_image_size: int = 8) -> None:
        super().__init__(filter=filter, empty_fallback=empty_fallback,
                         min_image_size=min_image_size)
        for name, bins, (lo, hi) in (('colour', colour_bins, colour_range),
                                     ('texture', texture_bins, texture_range)):
            if bins < 1 or not hi > lo:
                raise ValueError(f'{name}_bins must be >= 1 and {name}_range '
                                 f'(lo, hi) with hi > lo, got {bins}, ({lo}, {hi})')
        if scale <= 0 or sigma < 0 or min_size < 0:
            raise ValueError(f'need scale > 0, sigma >= 0, min_size >= 0, got '
                             f'{scale}, {sigma}, {min_size}')
        self.scale, self.sigma, self.min_size = scale, sigma, min_size
        self.colour_bins, self.colour_range = colour_bins, tuple(colour_range)
        self.texture_bins, self.texture_range = texture_bins, tuple(texture_range)

    def segment_regions(self, img: np.ndarray) -> np.ndarray:
        """The initial regions: HxW int64 ids 0..n-1 in raster order of their first
        pixel.

        Args:
            img (np.ndarray): HxWx3 uint8 BGR image.

        Returns:
            np.ndarray: The label map.
        """
        rgb = np.ascontiguousarray(img[:, :, ::-1])
        # skimage numbers the regions in raster order of their first pixel, the
        # order the reference visits them in (the tests check it).
        return felzenszwalb(img_as_float(rgb), scale=self.scale, sigma=self.sigma,
                            min_size=self.min_size).astype(np.int64)

    def propose(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        labels = self.segment_regions(img)
        rgb = np.ascontiguousarray(img[:, :, ::-1])
        num = int(labels.max()) + 1
        boxes = np.array([(s[1].start, s[0].start, s[1].stop - 1, s[0].stop - 1)
                          for s in ndimage.find_objects(labels + 1)], np.int64)
        sizes = np.bincount(labels.ravel(), minlength=num)
        hsv = rgb2hsv(rgb.astype(np.float64))
        lbp = np.stack([local_binary_pattern(rgb[:, :, c], 8, 1.0) for c in range(3)],
                       -1)
        hists = np.concatenate([
            _region_histograms(labels, hsv, num, self.colour_bins, self.colour_range),
            _region_histograms(labels, lbp, num, self.texture_bins,
                               self.texture_range)
        ], 1) / sizes[:, None]
        merged = _group_hierarchically(boxes, sizes, hists, self.colour_bins * 3,
                                       labels.size)
        return merged.astype(np.float32)


def _region_histograms(labels: np.ndarray, values: np.ndarray, num: int, bins: int,
                       value_range: Tuple[float, float]) -> np.ndarray:
    """(num, 3 * bins) counts of each channel of ``values`` per region, binned as
    ``np.histogram(v, bins, value_range)`` bins (values outside the range left
    out, the upper bound in the last bin)."""
    lo, hi = value_range
    edges = np.linspace(lo, hi, bins + 1)
    flat = labels.ravel()
    out = []
    for c in range(values.shape[2]):
        v = values[:, :, c].ravel()
        idx = np.minimum(np.searchsorted(edges, v, 'right') - 1, bins - 1)
        inside = (v >= lo) & (v <= hi)
        out.append(np.bincount(flat[inside] * bins + idx[inside],
                               minlength=num * bins).reshape(num, bins))
    return np.concatenate(out, 1).astype(np.float64)


def _initial_neighbours(boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b), a < b, with a corner of box b strictly inside box a, in the
    order a, then b (the reference's neighbour list)."""
    x1, y1, x2, y2 = boxes.T
    num = len(boxes)
    firsts, seconds = [], []
    rows = max(1, _BLOCK // max(num, 1))
    for start in range(0, num, rows):
        a = slice(start, min(start + rows, num))

        def inside(v, lo, hi):
            return (lo[a, None] < v[None]) & (v[None] < hi[a, None])

        near = ((inside(x1, x1, x2) | inside(x2, x1, x2))
                & (inside(y1, y1, y2) | inside(y2, y1, y2)))
        near &= np.arange(num)[None] > np.arange(a.start, a.stop)[:, None]
        i, j = np.nonzero(near)
        firsts.append(i + start)
        seconds.append(j)
    return np.concatenate(firsts), np.concatenate(seconds)


def _similarities(a: np.ndarray, b: np.ndarray, boxes: np.ndarray,
                  sizes: np.ndarray, hists: np.ndarray, colour_dims: int,
                  img_size: int) -> np.ndarray:
    """Colour + texture + size + fill similarity of the region pairs (a, b).

    Histogram intersections are summed in order along the bins (``cumsum``), as
    the reference's Python ``sum`` does, so that ties and near-ties resolve the
    same way.
    """
    out = np.empty(len(a))
    step = max(1, _BLOCK // hists.shape[1])
    for s in range(0, len(a), step):
        ia, ib = a[s:s + step], b[s:s + step]
        inter = np.minimum(hists[ia], hists[ib])
        colour = np.cumsum(inter[:, :colour_dims], 1)[:, -1]
        texture = np.cumsum(inter[:, colour_dims:], 1)[:, -1]
        pair = sizes[ia] + sizes[ib]
        width = np.maximum(boxes[ia, 2], boxes[ib, 2]) - np.minimum(
            boxes[ia, 0], boxes[ib, 0])
        height = np.maximum(boxes[ia, 3], boxes[ib, 3]) - np.minimum(
            boxes[ia, 1], boxes[ib, 1])
        size = 1.0 - pair / img_size
        fill = 1.0 - (width * height - pair) / img_size
        out[s:s + step] = colour + texture + size + fill
    return out


def _group_hierarchically(boxes: np.ndarray, sizes: np.ndarray, hists: np.ndarray,
                          colour_dims: int, img_size: int) -> np.ndarray:
    """Boxes of every region of the merge hierarchy (initial regions first).

    Args:
        boxes (np.ndarray): (n, 4) int64 ``[min_x, min_y, max_x, max_y]``.
        sizes (np.ndarray): (n,) int64 pixel counts.
        hists (np.ndarray): (n, D) float64 normalised colour then texture
            histograms, the colour part ``colour_dims`` wide.
        colour_dims (int): Width of the colour part of ``hists``.
        img_size (int): Pixels in the image.

    Returns:
        np.ndarray: (n + merges, 4) int64 boxes.
    """
    num = len(boxes)
    total = 2 * num - 1  # each merge removes one live region
    boxes = np.concatenate([boxes, np.zeros((total - num, 4), np.int64)])
    sizes = np.concatenate([sizes, np.zeros(total - num, np.int64)])
    hists = np.concatenate([hists, np.zeros((total - num, hists.shape[1]))])
    alive = np.zeros(total, bool)
    alive[:num] = True

    # The live pairs of each region, with the order they were recorded in (the
    # reference's dict order, which breaks ties).
    pairs: List[dict] = [dict() for _ in range(total)]
    order = 0

    def record(a: np.ndarray, b: np.ndarray) -> list:
        """Record pairs (a, b); their heap entries, highest similarity then latest
        recorded first."""
        nonlocal order
        sims = _similarities(a, b, boxes, sizes, hists, colour_dims, img_size)
        entries = []
        for x, y, sim in zip(a.tolist(), b.tolist(), sims.tolist()):
            pairs[x][y] = pairs[y][x] = order
            entries.append((-sim, -order, x, y))
            order += 1
        return entries

    heap = record(*_initial_neighbours(boxes[:num]))
    heapq.heapify(heap)
    new = num
    while heap:
        _, _, i, j = heapq.heappop(heap)
        if not (alive[i] and alive[j]):
            continue
        boxes[new, :2] = np.minimum(boxes[i, :2], boxes[j, :2])
        boxes[new, 2:] = np.maximum(boxes[i, 2:], boxes[j, 2:])
        sizes[new] = sizes[i] + sizes[j]
        hists[new] = (hists[i] * sizes[i] + hists[j] * sizes[j]) / sizes[new]
        alive[i] = alive[j] = False
        # The merged region's neighbours, in the order their pairs were recorded.
        inherited = sorted((seq, n) for r in (i, j) for n, seq in pairs[r].items()
                           if n not in (i, j))
        for r in (i, j):
            for n in pairs[r]:
                pairs[n].pop(r, None)
            pairs[r].clear()
        others = list(dict.fromkeys(n for _, n in inherited))
        for entry in record(np.full(len(others), new, np.int64),
                            np.array(others, np.int64)):
            heapq.heappush(heap, entry)
        alive[new] = True
        new += 1
    return boxes[:new]
