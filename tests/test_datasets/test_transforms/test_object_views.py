"""Properties of ObjectViews over many seeds and proposal sets (no GPU, fast)."""
import math
import random

import mmcv
import numpy as np
import pytest

from objcon.datasets.transforms import ObjectViews
from objcon.structures import ViewPairs, box_area, boxes_from_view, intersect

CROP = dict(scale=(0.5, 1.), ratio=(3. / 4., 4. / 3.))
JITTER = dict(prob=0.5, shift=0.1, scale=0.1)
ATOL = 2e-3  # float32 view coordinates mapped back to the original image


def soco_views(flip=0.5, jitter=JITTER, cutout=None, star=False, **kwargs):
    """SoCo (400e / 100e with cutout / SoCo*) geometry, no photometric pipeline."""
    views = [dict(size=224, flip_prob=flip),
             dict(size=224, crop=CROP, flip_prob=flip, box_cutout=cutout),
             dict(size=192 if star else 112, crop=CROP, flip_prob=flip,
                  box_cutout=cutout)]
    pairs = [dict(views=(0, 1), jitter=jitter), dict(views=(0, 2), jitter=jitter)]
    if star:
        views.append(dict(size=112, source=1, flip_prob=flip))
        pairs.append(dict(views=(0, 3), boxes_from=0))
    kwargs.setdefault('backend', 'cv2')  # faster; geometry is what is tested
    # slot i is one object in both views: the slot-wise checks below need it
    kwargs.setdefault('padding', 'joint')
    return ObjectViews(views=views, pairs=pairs, **kwargs)


def pairs_of(res):
    """The ViewPairs of a result as one dict of numpy arrays per pair."""
    vp = res['view_pairs']
    assert isinstance(vp, ViewPairs)
    return [dict(views=vp.views[i], boxes_a=vp.boxes_a[i].numpy(),
                 ids_a=vp.ids_a[i].numpy(), boxes_b=vp.boxes_b[i].numpy(),
                 ids_b=vp.ids_b[i].numpy(), ids=vp.ids_b[i].numpy())
            for i in range(len(vp))]


def random_case(rng):
    """A random image and a random proposal set with the awkward cases."""
    h, w = int(rng.integers(24, 200)), int(rng.integers(24, 200))
    img = rng.integers(1, 255, (h, w, 3), dtype=np.uint8)
    kind = rng.integers(0, 5)
    if kind == 0:
        n = 0
    elif kind == 1:
        n = 1
    else:
        n = int(rng.integers(2, 25))
    x1 = rng.uniform(-5, w, n)
    y1 = rng.uniform(-5, h, n)
    bw = rng.uniform(0.01, w, n) * rng.choice([0.01, 0.1, 1.], n)  # tiny boxes
    bh = rng.uniform(0.01, h, n) * rng.choice([0.01, 0.1, 1.], n)
    props = np.stack([x1, y1, x1 + bw, y1 + bh], 1)
    border = rng.random(n) < 0.3  # boxes on the image border
    props[border, 0] = 0
    props[border & (rng.random(n) < 0.5), 2] = w
    props[border & (rng.random(n) < 0.5), 3] = h
    if n > 3:  # an invalid box and a box outside the image
        props[0] = [5, 5, 5, 9]
        props[1] = [w + 1, h + 1, w + 9, h + 9]
    return img, props.astype(np.float32)


def run(t, img, props, seed):
    np.random.seed(seed)
    random.seed(seed)
    return t(dict(img=img.copy(), proposals=None if props is None else props.copy()))


def valid_ids(props, hw):
    h, w = hw
    if props is None or len(props) == 0:
        return set()
    ok = (props[:, 2] > props[:, 0]) & (props[:, 3] > props[:, 1])
    return set(np.nonzero(ok)[0].tolist())


def origin(res, props, box_id, hw):
    """The original-image box of an id (-1: the whole image)."""
    if box_id < 0:
        return np.array([0, 0, hw[1], hw[0]], np.float64)
    return props[box_id].astype(np.float64)


def back(res, v, boxes):
    p = res['view_params'][v]
    h, w = p['img_shape']
    return boxes_from_view(boxes, p['crop'].astype(np.float64), (w, h), p['flip'])


@pytest.mark.parametrize('star,padding', [(False, 'per_view'), (True, 'per_view'),
                                          (False, 'joint')])
def test_properties_over_random_seeds(star, padding):
    rng = np.random.default_rng(0)
    t = soco_views(star=star, padding=padding)
    for seed in range(150):
        img, props = random_case(rng)
        hw = img.shape[:2]
        res = run(t, img, props, seed)
        sizes = [224, 224, 192 if star else 112] + ([112] if star else [])
        assert [v.shape for v in res['img']] == [(s, s, 3) for s in sizes]
        assert 'proposals' not in res
        ok_ids = valid_ids(props, hw)
        for pair in pairs_of(res):
            a, b = pair['views']
            for side, v in (('boxes_a', a), ('boxes_b', b)):
                boxes = pair[side]
                assert boxes.dtype == np.float32 and boxes.shape == (4, 4)
                s = sizes[v]
                # Every box lies inside its view, with positive size.
                assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
                assert (boxes[:, 2] <= s).all() and (boxes[:, 3] <= s).all()
                assert (boxes[:, 0] < boxes[:, 2]).all()
                assert (boxes[:, 1] < boxes[:, 3]).all()
            ids_a, ids_b = pair['ids_a'], pair['ids_b']
            assert ids_a.dtype == ids_b.dtype == np.int64
            assert ids_a.shape == ids_b.shape == (4,)
            # Both views hold the same chosen proposals; joint padding repeats
            # the same slots in both.
            assert set(ids_a.tolist()) == set(ids_b.tolist())
            if padding == 'joint':
                np.testing.assert_array_equal(ids_a, ids_b)
            # Ids come from valid proposals, or all are the whole-image -1.
            assert set(ids_b.tolist()) <= ok_ids | {-1}
            if not ok_ids:
                assert (ids_b == -1).all()
            crop_a = res['view_params'][a]['crop'].astype(np.float64)
            crop_b = res['view_params'][b]['crop'].astype(np.float64)
            back_a = back(res, a, pair['boxes_a'])
            back_b = back(res, b, pair['boxes_b'])
            for i, box_id in enumerate(ids_b):
                prop = origin(res, props, box_id, hw)[None]
                # View b is never jittered: it is the proposal clipped to its crop.
                np.testing.assert_allclose(back_b[i], intersect(prop, crop_b)[0],
                                           atol=ATOL)
            for i, box_id in enumerate(ids_a):
                prop = origin(res, props, box_id, hw)[None]
                # The jittered anchor box stays within the jitter range of the
                # proposal.
                pw, ph = prop[0, 2] - prop[0, 0], prop[0, 3] - prop[0, 1]
                slack = 0.21 * np.array([pw, ph, pw, ph]) + ATOL
                lo = prop[0] - slack
                hi = prop[0] + slack
                clipped_lo = np.clip(lo, crop_a[[0, 1, 0, 1]], crop_a[[2, 3, 2, 3]])
                clipped_hi = np.clip(hi, crop_a[[0, 1, 0, 1]], crop_a[[2, 3, 2, 3]])
                assert (back_a[i] >= clipped_lo - ATOL).all()
                assert (back_a[i] <= clipped_hi + ATOL).all()
            for side, ids in (('boxes_a', ids_a), ('boxes_b', ids_b)):
                # Padding repeats whole slots (same id -> same box).
                for box_id in set(ids.tolist()):
                    same = np.nonzero(ids == box_id)[0]
                    for j in same[1:]:
                        np.testing.assert_array_equal(pair[side][j],
                                                      pair[side][same[0]])
                # Unique ids first, padding after: K rule (all if fewer than K).
                n_unique = len(set(ids.tolist()))
                assert len(set(ids[:n_unique].tolist())) == n_unique


def test_per_view_padding_draws_each_view_on_its_own():
    # One visible proposal of two: the 3 padded slots of each view repeat it;
    # with two chosen proposals, per-view padding must sometimes repeat
    # different ones in the two views, joint padding never.
    img = np.zeros((100, 100, 3), np.uint8)
    props = np.array([[0, 0, 40, 40], [50, 50, 90, 90]], np.float32)
    differ = {'per_view': 0, 'joint': 0}
    for padding in differ:
        for seed in range(20):
            t = soco_views(jitter=None, padding=padding)
            _scripted(t, [(ALL, ALL)])
            for pair in pairs_of(run(t, img, props, seed)):
                assert sorted(set(pair['ids_a'].tolist())) == [0, 1]
                assert sorted(set(pair['ids_b'].tolist())) == [0, 1]
                differ[padding] += not np.array_equal(pair['ids_a'], pair['ids_b'])
    assert differ['joint'] == 0 and differ['per_view'] > 0, differ


def test_no_jitter_both_views_map_back_to_the_same_region():
    rng = np.random.default_rng(1)
    t = soco_views(jitter=None)
    for seed in range(100):
        img, props = random_case(rng)
        hw = img.shape[:2]
        res = run(t, img, props, seed)
        for pair in pairs_of(res):
            a, b = pair['views']
            crop_a = res['view_params'][a]['crop'].astype(np.float64)
            crop_b = res['view_params'][b]['crop'].astype(np.float64)
            back_a = back(res, a, pair['boxes_a'])
            back_b = back(res, b, pair['boxes_b'])
            for i, box_id in enumerate(pair['ids']):
                prop = origin(res, props, box_id, hw)[None]
                np.testing.assert_allclose(back_a[i], intersect(prop, crop_a)[0],
                                           atol=ATOL)
                # The common part seen by both views is the same region.
                both = intersect(intersect(prop, crop_a), crop_b)[0]
                np.testing.assert_allclose(intersect(back_a[i:i + 1], crop_b)[0],
                                           both, atol=ATOL)
                np.testing.assert_allclose(intersect(back_b[i:i + 1], crop_a)[0],
                                           both, atol=ATOL)
                assert box_area(both[None])[0] > 0


def test_jitter_moves_only_the_anchor_and_pairs_independently():
    img = np.full((120, 160, 3), 90, np.uint8)
    props = np.array([[10, 10, 70, 60], [60, 30, 150, 110], [20, 50, 100, 115],
                      [5, 5, 150, 115]], np.float32)
    moved = np.zeros(2, bool)
    differ = False
    for seed in range(30):
        res_j = run(soco_views(jitter=dict(prob=1.0, shift=0.1, scale=0.1)), img,
                    props, seed)
        res_0 = run(soco_views(jitter=dict(prob=0.0, shift=0.1, scale=0.1)), img,
                    props, seed)
        for k, (pj, p0) in enumerate(zip(pairs_of(res_j), pairs_of(res_0))):
            a, b = pj['views']
            crop_b = res_j['view_params'][b]['crop'].astype(np.float64)
            # View b: always the proposal clipped to the crop, jitter or not.
            np.testing.assert_allclose(
                back(res_j, b, pj['boxes_b']),
                intersect(props[pj['ids']].astype(np.float64), crop_b), atol=ATOL)
            # View a: the unjittered box is the plain proposal (V1 = whole image).
            np.testing.assert_allclose(back(res_0, a, p0['boxes_a']),
                                       intersect(props[p0['ids']], np.array(
                                           [0, 0, 160, 120.]))[...], atol=ATOL)
            unjittered = intersect(props[pj['ids']].astype(np.float64),
                                   np.array([0, 0, 160, 120.]))
            moved[k] |= not np.allclose(back(res_j, a, pj['boxes_a']), unjittered,
                                        atol=0.05)
        # V1's boxes of the same proposal differ between pairs 1-2 and 1-3.
        p12, p13 = pairs_of(res_j)
        for i, box_id in enumerate(p12['ids']):
            for j in np.nonzero(p13['ids'] == box_id)[0]:
                differ |= not np.allclose(p12['boxes_a'][i], p13['boxes_a'][j])
    assert moved.all() and differ


def test_flip_mirrors_boxes_and_pixels():
    rng = np.random.default_rng(2)
    for seed in range(40):
        img, props = random_case(rng)
        r0 = run(soco_views(flip=0.0, star=True), img, props, seed)
        r1 = run(soco_views(flip=1.0, star=True), img, props, seed)
        assert not any(p['flip'] for p in r0['view_params'])
        assert all(p['flip'] for p in r1['view_params'])
        for v0, v1 in zip(r0['img'], r1['img']):
            np.testing.assert_array_equal(v1, v0[:, ::-1])
        for p0, p1 in zip(pairs_of(r0), pairs_of(r1)):
            np.testing.assert_array_equal(p0['ids_a'], p1['ids_a'])
            np.testing.assert_array_equal(p0['ids_b'], p1['ids_b'])
            for side, v in (('boxes_a', p0['views'][0]), ('boxes_b', p0['views'][1])):
                width = r0['img'][v].shape[1]
                mirrored = p0[side].copy()
                mirrored[:, [0, 2]] = width - p0[side][:, [2, 0]]
                np.testing.assert_allclose(p1[side], mirrored, atol=1e-4)


def test_no_proposals_uses_the_whole_image_box():
    img = np.full((50, 80, 3), 7, np.uint8)
    t = soco_views(jitter=None)
    for props in (None, np.zeros((0, 4), np.float32),
                  np.array([[3, 3, 3, 9]], np.float32)):  # only an invalid box
        res = run(t, img, props, 0)
        for pair in pairs_of(res):
            assert (pair['ids'] == -1).all()
            s_a = res['img'][pair['views'][0]].shape[0]
            s_b = res['img'][pair['views'][1]].shape[0]
            # The whole image in V1, the whole crop in a crop view.
            np.testing.assert_allclose(pair['boxes_a'], [[0, 0, s_a, s_a]] * 4)
            np.testing.assert_allclose(pair['boxes_b'], [[0, 0, s_b, s_b]] * 4)


def _scripted(t, crop_sequence):
    """Make t draw the given crops (for views 1 and 2) in order; count draws."""
    calls = []

    def draw(img_hw):
        crops = crop_sequence[min(len(calls), len(crop_sequence) - 1)]
        calls.append(1)
        h, w = img_hw
        crops = [np.array([0, 0, w, h], np.float64)] + [np.array(c, np.float64)
                                                       for c in crops]
        return crops, [None] * len(crops)  # no cell views
    t._draw_crops = draw
    return calls


# Three proposals in three corners of a 100x100 image.
CORNERS = np.array([[0, 0, 20, 20], [80, 0, 100, 20], [0, 80, 20, 100]], np.float32)
ONE = [0, 0, 50, 50]         # sees proposal 0
NONE = [30, 30, 70, 70]      # sees none
TWO = [0, 0, 100, 50]        # sees proposals 0 and 1
ALL = [0, 0, 100, 100]


@pytest.mark.parametrize('sequence,draws,unique', [
    ([(TWO, ALL)], 1, (2, 3)),              # enough at once
    ([(ONE, ALL), (ONE, ALL)], 2, (1, 3)),  # 1 < 2: redraw, then 1 is enough
    ([(NONE, ALL)] * 4 + [(ONE, ALL)], 5, (1, 3)),  # the 5th draw is the last
    ([(NONE, ALL)] * 9, 5, (1, 3)),         # give up after 5: whole image, id -1
])
def test_retry_and_fallback_rules(sequence, draws, unique):
    img = np.zeros((100, 100, 3), np.uint8)
    t = soco_views(jitter=None)
    calls = _scripted(t, sequence)
    res = run(t, img, CORNERS, 0)
    assert len(calls) == draws
    ids12, ids13 = (p['ids'] for p in pairs_of(res))
    assert len(set(ids12.tolist())) == unique[0]
    assert len(set(ids13.tolist())) == unique[1]
    if sequence[-1][0] == NONE and draws == 5 and len(sequence) > 5:
        assert (ids12 == -1).all()
        np.testing.assert_allclose(pairs_of(res)[0]['boxes_b'],
                                   [[0, 0, 224, 224]] * 4)


def test_k_boxes_chosen_at_random_without_replacement():
    img = np.zeros((100, 100, 3), np.uint8)
    props = np.array([[i, i, 60 + i, 60 + i] for i in range(10)], np.float32)
    seen = set()
    for seed in range(20):
        t = soco_views(jitter=None, num_boxes=4)
        _scripted(t, [(ALL, ALL)])
        res = run(t, img, props, seed)
        for pair in pairs_of(res):
            assert len(set(pair['ids'].tolist())) == 4  # K distinct, no padding
            seen |= set(pair['ids'].tolist())
    assert seen == set(range(10))
    t = soco_views(jitter=None, num_boxes=6)
    _scripted(t, [(ALL, ALL)])
    assert all(len(p['ids']) == 6 for p in pairs_of(run(t, img, props, 0)))


def test_ccop_visibility_and_area_filters():
    img = np.zeros((100, 100, 3), np.uint8)
    props = np.array([
        [0, 0, 40, 40],    # 1600 px, fully inside both crops
        [30, 0, 70, 20],   # half of it (x < 50) inside crop a
        [5, 5, 15, 15],    # 100 px < 144
        [10, 40, 40, 50],  # 300 px, fully inside
    ], np.float32)
    t = ObjectViews(views=[dict(size=224, crop=CROP), dict(size=224, crop=CROP)],
                    pairs=[dict(views=(0, 1))], min_visible_fraction=0.6,
                    min_area=144, backend='cv2')

    def draw(img_hw):
        return [np.array([0, 0, 50, 100.]), np.array([0, 0, 100, 100.])], \
            [None, None]
    t._draw_crops = draw
    for seed in range(10):
        res = run(t, img, props, seed)
        assert set(pairs_of(res)[0]['ids'].tolist()) == {0, 3}
    # Random crops, scale (0.1, 1): every kept box obeys both rules.
    t = ObjectViews(views=[dict(size=224, crop=dict(scale=(0.1, 1.)))] * 2,
                    pairs=[dict(views=(0, 1))], min_visible_fraction=0.6,
                    min_area=144, backend='cv2')
    rng = np.random.default_rng(3)
    for seed in range(60):
        img, props = random_case(rng)
        res = run(t, img, props, seed)
        pair = pairs_of(res)[0]
        crops = [p['crop'].astype(np.float64) for p in res['view_params']]
        for box_id in pair['ids']:
            if box_id < 0:
                continue
            prop = props[box_id:box_id + 1].astype(np.float64)
            for crop in crops:
                assert box_area(intersect(prop, crop))[0] >= \
                    0.6 * box_area(prop)[0] - 1e-6
            both = intersect(intersect(prop, crops[0]), crops[1])
            assert box_area(both)[0] > 144


@pytest.mark.parametrize('clip_to_box', [True, False])
def test_box_cutout_only_inside_boxes(clip_to_box):
    rng = np.random.default_rng(4)
    cutout = dict(prob=1.0, area=(0.1, 0.3), fill=0, clip_to_box=clip_to_box)
    t = soco_views(cutout=cutout)
    zeroed = 0
    for seed in range(40):
        _, props = random_case(rng)
        img = np.full((200, 200, 3), 200, np.uint8)
        res = run(t, img, props, seed)
        assert (res['img'][0] == 200).all()  # V1 has no cutout
        for pair in pairs_of(res):
            v = pair['views'][1]
            view = res['img'][v]
            rows, cols = np.nonzero((view == 0).all(-1))
            zeroed += len(rows)
            inside = np.zeros(len(rows), bool)
            boxes = np.concatenate([p['boxes_b'] for p in pairs_of(res)
                                    if p['views'][1] == v])
            for x1, y1, x2, y2 in boxes.astype(np.float64):
                # Half the largest square side, plus rounding, may spill over.
                m = 0 if clip_to_box else \
                    math.sqrt(0.3 * (x2 - x1) * (y2 - y1)) / 2 + 1
                inside |= (cols >= x1 - m) & (cols + 1 <= x2 + m) & \
                    (rows >= y1 - m) & (rows + 1 <= y2 + m)
            assert inside.all()
            # Outside the cutout the view is untouched.
            assert set(np.unique(view).tolist()) <= {0, 200}
    assert zeroed > 0


def test_soco_star_v4_is_v2_resized():
    rng = np.random.default_rng(5)
    t = soco_views(flip=0.0, star=True)
    for seed in range(20):
        img, props = random_case(rng)
        res = run(t, img, props, seed)
        v2, v4 = res['img'][1], res['img'][3]
        np.testing.assert_array_equal(
            v4, mmcv.imresize(v2, (112, 112), backend='cv2'))
        np.testing.assert_array_equal(res['view_params'][3]['crop'],
                                      res['view_params'][1]['crop'])
        p12, p13, p14 = pairs_of(res)
        np.testing.assert_array_equal(p14['ids_a'], p12['ids_a'])
        np.testing.assert_array_equal(p14['ids_b'], p12['ids_b'])
        np.testing.assert_array_equal(p14['boxes_a'], p12['boxes_a'])
        np.testing.assert_allclose(p14['boxes_b'], p12['boxes_b'] * 0.5, atol=1e-4)
    # V3 is an independent crop, not a resized V2.
    crops = [run(t, *random_case(rng), seed)['view_params'] for seed in range(10)]
    assert any(not np.array_equal(c[1]['crop'], c[2]['crop']) for c in crops)


def test_invalid_configs_are_refused():
    with pytest.raises(AssertionError):
        ObjectViews(views=[dict(size=224), dict(size=112, source=1)],
                    pairs=[dict(views=(0, 1))])
    with pytest.raises(AssertionError):
        ObjectViews(views=[dict(size=224), dict(size=224, crop=CROP),
                           dict(size=112, crop=CROP)],
                    pairs=[dict(views=(0, 1)), dict(views=(0, 2), boxes_from=0)])
    with pytest.raises(AssertionError):
        ObjectViews(views=[dict(size=224, colour=1)], pairs=[dict(views=(0, 0))])
    with pytest.raises(ValueError, match='padding'):
        ObjectViews(views=[dict(size=224), dict(size=224, crop=CROP)],
                    pairs=[dict(views=(0, 1))], padding='both')
