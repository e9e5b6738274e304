"""Label maps through ObjectViews (region mode), GridRegionMap and the overlap rule
of auxiliary crops."""
import numpy as np
import pytest

from objcon.datasets.transforms import GridRegionMap, ObjectViews, PackObjectViews
from objcon.structures import crop_overlap


def _expected_grid_labels(crop, flip, map_wh, img_wh, grid):
    """Independent of the code under test: the grid cell of the original pixel
    under each map pixel's centre, from the cell edges."""
    (mw, mh), (width, height), (rows, cols) = map_wh, img_wh, grid
    x1, y1, x2, y2 = crop
    u = (np.arange(mw) + 0.5) / mw
    if flip:
        u = 1 - u  # the view is mirrored: its left column shows the crop's right
    v = (np.arange(mh) + 0.5) / mh
    px = np.floor(x1 + u * (x2 - x1))  # the original pixel holding the centre
    py = np.floor(y1 + v * (y2 - y1))
    # a pixel belongs to the cell holding its centre
    col_edges = np.linspace(0, width, cols + 1)[1:-1]
    row_edges = np.linspace(0, height, rows + 1)[1:-1]
    col = np.searchsorted(col_edges, px + 0.5, side='right')
    row = np.searchsorted(row_edges, py + 0.5, side='right')
    return row[:, None] * cols + col[None, :]


def _views(map_size=(14, 10), overlap=None):
    crop = dict(scale=(0.2, 1.))
    views = [dict(size=(40, 32), crop=crop), dict(size=24, crop=crop),
             dict(size=24, crop=crop, overlap=overlap)]
    return ObjectViews(views=views, region_map=dict(size=map_size),
                       backend='cv2')


@pytest.mark.parametrize('seed', range(12))
def test_grid_labels_survive_crop_flip_resize(seed):
    rng = np.random.RandomState(seed)
    height, width = rng.randint(37, 120), rng.randint(37, 120)
    np.random.seed(seed)
    results = GridRegionMap(grid=(4, 4))(
        dict(img=rng.randint(0, 255, (height, width, 3), np.uint8)))
    # ids above 255 (and above 2**16) must survive: scale the cell ids
    results['region_map'] = results['region_map'] * 100003 + 7
    out = _views()(results)
    maps, params = out['region_map'], out['view_params']
    assert len(maps) == 3
    for labels, p in zip(maps, params):
        assert labels.dtype == np.int32 and labels.shape == (10, 14)
        expected = _expected_grid_labels(p['crop'], p['flip'], (14, 10),
                                         (width, height), (4, 4))
        np.testing.assert_array_equal(labels, expected * 100003 + 7)
    assert {p['flip'] for p in params} <= {True, False}


def test_flips_are_exercised_and_mirror_the_map():
    np.random.seed(3)
    img = np.zeros((64, 96, 3), np.uint8)
    seen = set()
    for _ in range(20):
        results = GridRegionMap(grid=4)(dict(img=img.copy()))
        out = _views()(results)
        for labels, p in zip(out['region_map'], out['view_params']):
            seen.add(p['flip'])
            if p['flip']:  # columns run right to left: the cell ids fall
                assert (np.diff(labels[0].astype(np.int64)) <= 0).all()
            else:
                assert (np.diff(labels[0].astype(np.int64)) >= 0).all()
    assert seen == {True, False}


def test_grid_region_map_cells():
    labels = GridRegionMap(grid=(2, 3))(dict(img=np.zeros((4, 6, 3), np.uint8)))
    np.testing.assert_array_equal(
        labels['region_map'],
        [[0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2], [3, 3, 4, 4, 5, 5],
         [3, 3, 4, 4, 5, 5]])
    assert labels['region_map'].dtype == np.int32
    with pytest.raises(ValueError, match='grid'):
        GridRegionMap(grid=(0, 4))


@pytest.mark.parametrize('seed', range(6))
def test_auxiliary_crop_overlaps_its_main_crop(seed):
    np.random.seed(seed)
    transform = _views(overlap=dict(view=0, min_fraction=0.5, max_tries=100))
    img = np.zeros((90, 120, 3), np.uint8)
    for _ in range(10):
        out = transform(GridRegionMap()(dict(img=img.copy())))
        crops = [p['crop'] for p in out['view_params']]
        assert crop_overlap(crops[2], crops[0]) >= 0.5


def test_without_the_overlap_rule_crops_often_overlap_less():
    # the rule above is not vacuous for these crop ranges
    np.random.seed(0)
    transform = _views()
    img = np.zeros((90, 120, 3), np.uint8)
    fractions = [crop_overlap(*[out['view_params'][i]['crop'] for i in (2, 0)])
                 for out in (transform(GridRegionMap()(dict(img=img.copy())))
                             for _ in range(60))]
    assert min(fractions) < 0.5


def test_pack_carries_maps_crops_and_flips():
    np.random.seed(1)
    out = _views()(GridRegionMap()(dict(img=np.zeros((50, 70, 3), np.uint8))))
    packed = PackObjectViews()(out)
    sample = packed['data_samples']
    assert tuple(sample.region_maps.shape) == (3, 10, 14)
    assert str(sample.region_maps.dtype) == 'torch.int32'
    assert tuple(sample.view_crops.shape) == (3, 4)
    np.testing.assert_array_equal(sample.view_crops.numpy(),
                                  [p['crop'] for p in out['view_params']])
    assert sample.view_flips.tolist() == [p['flip'] for p in out['view_params']]
    assert 'view_pairs' not in sample  # no pairs: no boxes


def test_clear_errors_on_a_missing_or_bad_label_map():
    img = np.zeros((20, 30, 3), np.uint8)
    with pytest.raises(KeyError, match='GridRegionMap'):
        _views()(dict(img=img.copy()))
    with pytest.raises(ValueError, match='integer label map'):
        _views()(dict(img=img.copy(), region_map=np.zeros((20, 30), np.float32)))
    with pytest.raises(AssertionError, match='earlier view'):
        ObjectViews(views=[dict(size=8, crop=dict(), overlap=dict(view=0))])
