"""The multi-view transform of object-level methods (SoCo, SoCo*, CCOP, ...)."""
import copy
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from objcon.registry import TRANSFORMS
from objcon.structures import (PairSlotSampler, ViewPairs, boxes_from_view,
                               boxes_to_view, crop_overlap, label_map_to_view,
                               random_cell_window, random_resized_crop)

_VIEW_KEYS = {'size', 'crop', 'source', 'cell', 'flip_prob', 'pipeline',
              'box_cutout', 'overlap'}
_PAIR_KEYS = {'views', 'jitter', 'boxes_from'}


@TRANSFORMS.register_module()
class ObjectViews(BaseTransform):
    """Make the views of an image and the boxes of each contrasted pair of views.

    One mechanism for every object-level recipe: a list of view specs (geometry,
    flip, photometric pipeline, box cutout) and a list of pairs (which views are
    contrasted, whether the first view's boxes are jittered, whether the boxes are
    those of another pair). Proposal boxes are selected per pair, carried through
    every view's crop, resize and flip, and emitted as docs/boxes.md describes.
    Region-level recipes (PLRC, DetCon) carry an integer label map of the image
    (``region_map``) through the same crops and flips instead, or as well; a recipe
    without boxes has no pairs.

    Per call:

    1. Draw every view's crop; for each pair (a, b) take the candidate proposals
       (those overlapping ``crop_a & crop_b`` with an area > ``min_area`` there, and
       with at least ``min_visible_fraction`` of their area inside each crop), and
       choose ``num_boxes`` of them at random without replacement (all if fewer).
       If a pair has fewer than ``min_boxes``, redraw all crops, halving the
       requirement at each failure (never below 1), ``max_tries`` draws in all (the
       last draw is kept). A pair still without candidates uses the whole-image box
       (id -1), as does an image without (valid) proposals.
    2. Jitter view a's boxes when the pair has ``jitter`` (view b keeps the
       proposal): per box with probability ``prob``,
       ``x1 += U(-shift, shift) w``, ``y1 += U(-shift, shift) h``,
       ``w *= 1 + U(-scale, scale)``, ``h *= 1 + U(-scale, scale)``; a jittered box
       that leaves view a's crop keeps its unjittered value.
    3. Pad each view of the pair to ``num_boxes`` slots by repeating random
       slots with their ids: each view draws its own repeats, as the reference
       does (``padding='per_view'``), or both views repeat the same slots, so that
       slot i of ``boxes_a`` and of ``boxes_b`` is always one object
       (``padding='joint'``). The loss matches slots by id either way.
    4. Map boxes into each view: clip to the crop, shift to its origin, scale to the
       view, mirror on flip. Then each view gets its own photometric ``pipeline``
       (transforms applied to ``{'img': view}``) and, if configured, the box cutout
       (on the view's boxes of every pair it takes part in, padded slots included, as
       the reference does).

    View spec keys:

    - ``size`` (int | tuple[int, int]): output (w, h); an int gives a square.
    - ``crop`` (dict | None): ``dict(scale=(lo, hi), ratio=(lo, hi))`` for a
      RandomResizedCrop (torchvision's algorithm), None for the whole image resized
      (aspect not kept). Defaults to None.
    - ``source`` (int | None): index of an earlier view whose crop this view resizes
      (its pixels are that view's pixels before flip and colour, resized); the view
      draws its own flip and colour. Defaults to None.
    - ``cell`` (dict | None): with ``source``, the view is one patch of a grid laid
      over the source view instead of all of it:
      ``dict(grid=(cols, rows), index=i, side=1.0)`` takes cell ``i`` (row by
      row) of the grid on the source's pixels before flip and colour, or a
      window of ``side`` times the cell's sides at a uniformly drawn position
      inside it (:func:`~objcon.structures.random_cell_window`), resized to
      ``size``. An int ``grid`` is square. One view per cell makes a jigsaw
      patch set (DetCo's local views). Defaults to None.
    - ``flip_prob`` (float): horizontal flip probability. Defaults to 0.5.
    - ``pipeline`` (list[dict]): photometric transforms (registry configs), built
      with objcon's ``TRANSFORMS`` and applied to ``{'img': view}``. They must not
      move pixels. Defaults to [].
    - ``box_cutout`` (dict | None): ``dict(prob=0.5, area=(0.1, 0.3), fill=0,
      clip_to_box=True)``: per box slot with probability ``prob`` a square of area
      ``U(*area)`` x box area, centred uniformly inside the box, is set to ``fill``
      (a BGR value or int). With ``clip_to_box`` the square is cut to the box's
      whole pixels; the reference lets it spill over (``clip_to_box=False``).
    - ``overlap`` (dict | None): ``dict(view=i, min_fraction=0.5, max_tries=100)``:
      redraw this view's crop (``max_tries`` draws at most, the last one kept)
      until its intersection with the crop of the earlier view ``i`` covers at
      least ``min_fraction`` of the larger of the two crops (PLRC's auxiliary
      crops). Needs ``crop``. Defaults to None.

    Pair spec keys:

    - ``views`` (tuple[int, int]): indices (a, b) into ``views``. ``pairs`` may be
      empty (views without boxes, e.g. DetCo's): no proposal is read and
      ``view_pairs`` is not added.
    - ``jitter`` (dict | None): ``dict(prob=0.5, shift=0.1, scale=0.1)`` jitter of
      view a's boxes, drawn independently per pair. Defaults to None.
    - ``boxes_from`` (int | None): index of an earlier pair with the same view a
      whose slots (selection, jitter and padding) this pair reuses; view b must have
      ``source`` = that pair's view b. Defaults to None.

    Example (SoCo-FPN, 400 epochs; the photometric lists are in
    ``configs/_base_/datasets/soco_views_400e.py``)::

        crop = dict(scale=(0.5, 1.), ratio=(3. / 4., 4. / 3.))
        jitter = dict(prob=0.5, shift=0.1, scale=0.1)
        dict(type='ObjectViews',
             views=[dict(size=224, crop=None, pipeline=v1_photometric),   # V1
                    dict(size=224, crop=crop, pipeline=v23_photometric),  # V2
                    dict(size=112, crop=crop, pipeline=v23_photometric)], # V3
             pairs=[dict(views=(0, 1), jitter=jitter),
                    dict(views=(0, 2), jitter=jitter)],
             num_boxes=4, max_tries=5)

    The 100-epoch recipe adds ``box_cutout=dict(prob=0.5, area=(0.1, 0.3))`` to V2
    and V3; SoCo* makes V3 ``size=192`` and adds
    ``dict(size=112, source=1, pipeline=v23_photometric)`` as V4 with the pair
    ``dict(views=(0, 3), boxes_from=0)``. CCOP: two views
    ``dict(size=224, crop=dict(scale=(0.1, 1.)))``, ``min_visible_fraction=0.6``,
    ``min_area=144``. PLRC: no pairs, four 224-px views with
    ``crop=dict(scale=(0.2, 1.))``, views 2 and 3 with
    ``overlap=dict(view=0)`` and ``overlap=dict(view=1)`` (the auxiliary crops),
    ``region_map=dict(size=56)`` after ``GridRegionMap``. DetCo: two crops X1, X2
    and, from each, nine
    ``dict(size=64, source=s, cell=dict(grid=3, index=i, side=0.85))`` views,
    with ``pairs=[]`` (``configs/_base_/datasets/detco_views.py``).

    Required keys: ``img`` (HxWx3 uint8), ``proposals`` ((N, 4) float32 xyxy on
    ``img``; missing or empty means none); with ``region_map``, the key it names
    ((H, W) integer labels of ``img``, any integer dtype).

    Modified keys: ``img`` (list of views, in ``views`` order), ``img_shape`` (list
    of the views' (h, w)); with ``region_map``, its key: the list of the views'
    label maps, each (h, w) of the configured size, nearest-sampled
    (:func:`~objcon.structures.label_map_to_view`: the label of the original pixel
    under each map pixel's centre), flipped with its view, dtype kept.

    Added keys: ``view_pairs`` (:class:`~objcon.structures.ViewPairs` of the image:
    (P, K, 4) float32 boxes and (P, K) int64 ids of each view, in ``pairs``
    order; absent without pairs),
    ``view_params`` (per view: ``crop`` (4,) float32 xyxy on the original image,
    ``flip`` bool, ``img_shape`` (h, w)).

    Removed keys: ``proposals`` (they refer to the original image, which is gone;
    ``view_params`` maps view boxes back to it).

    Args:
        views (Sequence[dict]): View specs, see above.
        pairs (Sequence[dict]): Pair specs, see above. Defaults to () (no
            boxes: region-level recipes).
        num_boxes (int): Slots per pair, K. Defaults to 4.
        max_tries (int): Crop draws at most. Defaults to 5.
        min_boxes (int, optional): Boxes every pair should have at the first draw.
            Defaults to None, meaning ``max(num_boxes // 2, 1)`` (SoCo's rule).
        min_visible_fraction (float): Keep a proposal for a pair only if at least
            this fraction of its area lies inside each of the two crops.
            Defaults to 0.
        min_area (float): Keep a proposal for a pair only if its part inside both
            crops has an area (original-image pixels) greater than this.
            Defaults to 0.
        padding (str): ``'per_view'`` (the reference) or ``'joint'``, see step 3.
            Defaults to ``'per_view'``.
        interpolation (str): Resize interpolation. Defaults to 'bilinear'.
        backend (str): Resize backend, 'pillow' (as the reference: antialiased
            bilinear) or 'cv2' (faster). Defaults to 'pillow'.
        region_map (dict, optional): ``dict(key='region_map', size=56)``: carry
            the label map at ``results[key]`` into every view at ``size`` (int or
            (w, h)). Defaults to None (no label map).
    """

    def __init__(self,
                 views: Sequence[dict],
                 pairs: Sequence[dict] = (),
                 num_boxes: int = 4,
                 max_tries: int = 5,
                 min_boxes: Optional[int] = None,
                 min_visible_fraction: float = 0.,
                 min_area: float = 0.,
                 padding: str = 'per_view',
                 interpolation: str = 'bilinear',
                 backend: str = 'pillow',
                 region_map: Optional[dict] = None) -> None:
        if max_tries < 1:
            raise ValueError(f'max_tries must be >= 1, got {max_tries}')
        if backend not in ('pillow', 'cv2'):
            raise ValueError(f"backend must be 'pillow' or 'cv2', got {backend!r}")
        self.sampler = PairSlotSampler(num_boxes, min_visible_fraction, min_area,
                                       padding)
        self.views = [self._parse_view(i, v, len(views)) for i, v in
                      enumerate(views)]
        self.pairs: List[dict] = []
        for i, p in enumerate(pairs):  # a pair may refer to earlier ones
            self.pairs.append(self._parse_pair(i, p))
        if region_map is not None:
            unknown = set(region_map) - {'key', 'size'}
            assert not unknown, f'region_map: unknown keys {unknown}'
            size = region_map.get('size', 56)
            size = (size, size) if isinstance(size, int) else tuple(size)
            region_map = dict(key=region_map.get('key', 'region_map'), size=size)
        self.region_map = region_map
        self.num_boxes = num_boxes
        self.max_tries = max_tries
        self.min_boxes = max(num_boxes // 2, 1) if min_boxes is None else min_boxes
        self.interpolation = interpolation
        self.backend = backend
        self.pipelines = [[TRANSFORMS.build(copy.deepcopy(t)) for t in v['pipeline']]
                          for v in self.views]

    def _parse_view(self, index: int, spec: dict, num_views: int) -> dict:
        unknown = set(spec) - _VIEW_KEYS
        assert not unknown, f'view {index}: unknown keys {unknown}'
        size = spec['size']
        size = (size, size) if isinstance(size, int) else tuple(size)
        view = dict(size=size, crop=spec.get('crop'), source=spec.get('source'),
                    flip_prob=spec.get('flip_prob', 0.5),
                    pipeline=list(spec.get('pipeline', [])),
                    box_cutout=spec.get('box_cutout'),
                    cell=self._parse_cell(index, spec))
        if view['source'] is not None:
            src = view['source']
            assert 0 <= src < index, f'view {index}: source must be an earlier view'
            assert view['crop'] is None, f'view {index}: source views have no crop'
        if view['crop'] is not None:
            view['crop'] = dict(scale=tuple(view['crop'].get('scale', (0.08, 1.))),
                                ratio=tuple(view['crop'].get(
                                    'ratio', (3. / 4., 4. / 3.))))
        if view['box_cutout'] is not None:
            cut = dict(prob=0.5, area=(0.1, 0.3), fill=0, clip_to_box=True)
            cut.update(view['box_cutout'])
            view['box_cutout'] = cut
        if spec.get('overlap') is not None:
            rule = dict(min_fraction=0.5, max_tries=100)
            rule.update(spec['overlap'])
            assert set(rule) == {'view', 'min_fraction', 'max_tries'}, \
                f'view {index}: overlap takes view, min_fraction, max_tries'
            assert 0 <= rule['view'] < index, \
                f'view {index}: overlap must refer to an earlier view'
            assert view['crop'] is not None, f'view {index}: overlap needs a crop'
            assert rule['max_tries'] >= 1
            view['overlap'] = rule
        else:
            view['overlap'] = None
        return view

    @staticmethod
    def _parse_cell(index: int, spec: dict) -> Optional[dict]:
        cell = spec.get('cell')
        if cell is None:
            return None
        if spec.get('source') is None:
            raise ValueError(f'view {index}: a cell view needs a source view')
        unknown = set(cell) - {'grid', 'index', 'side'}
        if unknown or 'grid' not in cell or 'index' not in cell:
            raise ValueError(f'view {index}: cell must be dict(grid=..., index=..., '
                             f'side=...), got {cell}')
        grid = cell['grid']
        grid = (grid, grid) if isinstance(grid, int) else tuple(grid)
        side = float(cell.get('side', 1.0))
        if len(grid) != 2 or min(grid) < 1 or \
                not 0 <= cell['index'] < grid[0] * grid[1]:
            raise ValueError(f'view {index}: cell {cell["index"]} of a grid '
                             f'{grid} does not exist')
        if not 0 < side <= 1:
            raise ValueError(f'view {index}: cell side must be in (0, 1], got '
                             f'{side}')
        return dict(grid=grid, index=int(cell['index']), side=side)

    def _parse_pair(self, index: int, spec: dict) -> dict:
        unknown = set(spec) - _PAIR_KEYS
        assert not unknown, f'pair {index}: unknown keys {unknown}'
        a, b = spec['views']
        assert a != b and 0 <= a < len(self.views) and 0 <= b < len(self.views)
        pair = dict(views=(a, b), jitter=spec.get('jitter'),
                    boxes_from=spec.get('boxes_from'))
        if pair['jitter'] is not None:
            jit = dict(prob=0.5, shift=0.1, scale=0.1)
            jit.update(pair['jitter'])
            assert jit['scale'] < 1, 'jitter scale >= 1 can give empty boxes'
            pair['jitter'] = jit
        src = pair['boxes_from']
        if src is not None:
            assert 0 <= src < index, f'pair {index}: boxes_from must be earlier'
            assert pair['jitter'] is None, \
                f'pair {index}: boxes_from pairs reuse the jitter of their source'
            src_pair = self.pairs[src]
            assert src_pair['boxes_from'] is None
            assert src_pair['views'][0] == a, \
                f'pair {index}: boxes_from needs the same view a'
            assert self.views[b]['source'] == src_pair['views'][1] and \
                self.views[b]['cell'] is None, \
                f'pair {index}: view b must be a resize (source) of the ' \
                f'boxes_from pair\'s view b'
        return pair

    # ----------------------------------------------------------------- crops
    def _draw_crops(self, img_hw: Tuple[int, int]
                    ) -> Tuple[List[np.ndarray], List[Optional[np.ndarray]]]:
        """Per view, its crop on the image and (cell views) its window in the
        source view's pixels."""
        height, width = img_hw
        crops, windows = [], []
        for view in self.views:
            windows.append(None)
            src = view['source']
            if src is not None and view['cell'] is not None:
                src_wh = self.views[src]['size']
                windows[-1] = random_cell_window(
                    src_wh, view['cell']['grid'], view['cell']['index'],
                    view['cell']['side'])
                crops.append(boxes_from_view(windows[-1], crops[src], src_wh,
                                             False)[0])
            elif src is not None:
                crops.append(crops[src])
            elif view['crop'] is None:
                crops.append(np.array([0, 0, width, height], dtype=np.float64))
            elif view['overlap'] is None:
                crops.append(random_resized_crop(img_hw, **view['crop']))
            else:
                rule = view['overlap']
                for _ in range(rule['max_tries']):
                    crop = random_resized_crop(img_hw, **view['crop'])
                    if crop_overlap(crop, crops[rule['view']]) >= \
                            rule['min_fraction']:
                        break
                crops.append(crop)
        return crops, windows

    def _select(self, props: np.ndarray,
                crops: List[np.ndarray]) -> List[Optional[np.ndarray]]:
        """Per pair, the chosen proposal indices (None: reuses another pair's)."""
        selections = []
        for pair in self.pairs:
            if pair['boxes_from'] is not None:
                selections.append(None)
                continue
            a, b = pair['views']
            selections.append(self.sampler.choose(
                self.sampler.candidates(props, crops[a], crops[b])))
        return selections

    def _pair_slots(self, props: np.ndarray, ids: np.ndarray,
                    selections: List[Optional[np.ndarray]],
                    crops: List[np.ndarray], img_hw: Tuple[int, int]) -> list:
        """Per pair, its :class:`~objcon.structures.PairSlots` on the image."""
        height, width = img_hw
        slots = []
        for pair, sel in zip(self.pairs, selections):
            if pair['boxes_from'] is not None:
                slots.append(slots[pair['boxes_from']])
                continue
            slots.append(self.sampler.slots(props, ids, sel, crops[pair['views'][0]],
                                            (width, height), pair['jitter']))
        return slots

    # ---------------------------------------------------------------- pixels
    def _resize(self, img: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
        if img.shape[1] == size[0] and img.shape[0] == size[1]:
            return img.copy()
        return mmcv.imresize(img, size, interpolation=self.interpolation,
                             backend=self.backend)

    @staticmethod
    def _cutout(img: np.ndarray, boxes: np.ndarray, cfg: dict) -> np.ndarray:
        height, width = img.shape[:2]
        for x1, y1, x2, y2 in boxes.astype(np.float64):
            if np.random.rand() >= cfg['prob']:
                continue
            area = np.random.uniform(*cfg['area']) * (x2 - x1) * (y2 - y1)
            side = int(round(math.sqrt(area)))
            cx, cy = np.random.uniform(x1, x2), np.random.uniform(y1, y2)
            left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
            right, bottom = left + side, top + side
            if cfg['clip_to_box']:  # whole pixels of the box only
                left, top = max(left, math.ceil(x1)), max(top, math.ceil(y1))
                right = min(right, math.floor(x2))
                bottom = min(bottom, math.floor(y2))
            left, top = max(left, 0), max(top, 0)
            right, bottom = min(right, width), min(bottom, height)
            if right > left and bottom > top:
                img[top:bottom, left:right] = cfg['fill']
        return img

    def _photometric(self, index: int, img: np.ndarray) -> np.ndarray:
        results = {'img': img}
        for t in self.pipelines[index]:
            results = t(results)
            assert results is not None, f'view {index}: {t} dropped the view'
        return results['img']

    # ------------------------------------------------------------- transform
    def transform(self, results: Dict) -> Dict:
        """Make the views and their box pairs.

        Args:
            results (dict): With ``img`` and optionally ``proposals``.

        Returns:
            dict: With ``img`` (list of views), ``img_shape``, ``view_pairs`` and
            ``view_params``; ``proposals`` removed.
        """
        img = results['img']
        img_hw = img.shape[:2]
        height, width = img_hw
        props = results.pop('proposals', None)
        props = np.zeros((0, 4)) if props is None else \
            np.asarray(props, dtype=np.float64).reshape(-1, 4)
        valid = np.isfinite(props).all(1) & (props[:, 2] > props[:, 0]) & \
            (props[:, 3] > props[:, 1])
        ids = np.nonzero(valid)[0].astype(np.int64)
        props = props[valid]
        if len(props) == 0:  # one whole-image box, id -1
            props = np.array([[0, 0, width, height]], dtype=np.float64)
            ids = np.array([-1], dtype=np.int64)

        required = self.min_boxes
        for _ in range(self.max_tries):
            crops, windows = self._draw_crops(img_hw)
            selections = self._select(props, crops)
            if all(len(s) >= required for s in selections if s is not None):
                break
            required = max(required // 2, 1)

        slots = self._pair_slots(props, ids, selections, crops, img_hw)
        flips = [bool(np.random.rand() < v['flip_prob']) for v in self.views]

        pair_boxes = []
        for pair, s in zip(self.pairs, slots):
            a, b = pair['views']
            pair_boxes.append((
                boxes_to_view(s.boxes_a, crops[a], self.views[a]['size'], flips[a]),
                s.ids_a,
                boxes_to_view(s.boxes_b, crops[b], self.views[b]['size'], flips[b]),
                s.ids_b))

        # Geometry first (a source view resizes its source before flip/colour).
        geometric = []
        for view, crop, window in zip(self.views, crops, windows):
            if window is not None:
                x1, y1, x2, y2 = window.astype(int)
                patch = geometric[view['source']][y1:y2, x1:x2]
            elif view['source'] is not None:
                patch = geometric[view['source']]
            else:
                x1, y1, x2, y2 = crop.astype(int)
                patch = img[y1:y2, x1:x2]
            geometric.append(self._resize(patch, view['size']))

        out_views = []
        for i, view in enumerate(self.views):
            pixels = mmcv.imflip(geometric[i]) if flips[i] else geometric[i]
            pixels = self._photometric(i, np.ascontiguousarray(pixels))
            if view['box_cutout'] is not None:
                own = [boxes[0] if pair['views'][0] == i else boxes[2]
                       for pair, boxes in zip(self.pairs, pair_boxes)
                       if i in pair['views']]
                if own:
                    pixels = self._cutout(pixels.copy(), np.concatenate(own),
                                          view['box_cutout'])
            out_views.append(pixels)

        results['img'] = out_views
        results['img_shape'] = [v.shape[:2] for v in out_views]
        if self.pairs:
            results['view_pairs'] = ViewPairs.from_slots(
                [p['views'] for p in self.pairs], pair_boxes)
        if self.region_map is not None:
            results[self.region_map['key']] = self._region_maps(
                results, img_hw, crops, flips)
        results['view_params'] = [
            dict(crop=crop.astype(np.float32), flip=flip, img_shape=v.shape[:2])
            for crop, flip, v in zip(crops, flips, out_views)
        ]
        return results

    def _region_maps(self, results: Dict, img_hw: Tuple[int, int],
                     crops: List[np.ndarray], flips: List[bool]
                     ) -> List[np.ndarray]:
        """Each view's label map, from the image's at ``region_map['key']``."""
        key = self.region_map['key']
        if key not in results:
            raise KeyError(
                f'ObjectViews carries a label map from results[{key!r}], which '
                'is missing: put a transform that writes it (e.g. GridRegionMap) '
                'before ObjectViews')
        labels = np.asarray(results[key])
        if labels.shape != tuple(img_hw) or labels.dtype.kind not in 'iu':
            raise ValueError(
                f'results[{key!r}] must be an integer label map of the image '
                f'(shape {tuple(img_hw)}), got {labels.dtype} {labels.shape}')
        return [label_map_to_view(labels, crop, self.region_map['size'], flip)
                for crop, flip in zip(crops, flips)]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(views={self.views}, '
                f'pairs={self.pairs}, num_boxes={self.num_boxes}, '
                f'max_tries={self.max_tries}, min_boxes={self.min_boxes}, '
                f'sampler={self.sampler}, backend={self.backend}, '
                f'region_map={self.region_map})')
