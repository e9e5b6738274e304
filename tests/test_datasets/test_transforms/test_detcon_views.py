"""DetCon's views: FH label maps with many ids survive crop, flip and resize
exactly (the demo config's transform, as shipped)."""
import glob
import os.path as osp

import numpy as np
import pytest

from objcon.proposals import FelzenszwalbSegments, read_image
from objcon.registry import TRANSFORMS
from objcon.utils.config import load_config


def expected_view_labels(labels, crop, flip, map_wh):
    """Independent of the code under test: the original pixel holding the centre
    of each map pixel, the view's columns mirrored on flip."""
    mw, mh = map_wh
    x1, y1, x2, y2 = (float(v) for v in crop)
    u = (np.arange(mw) + 0.5) / mw
    if flip:
        u = 1 - u
    v = (np.arange(mh) + 0.5) / mh
    px = np.minimum(np.floor(x1 + u * (x2 - x1)), labels.shape[1] - 1).astype(int)
    py = np.minimum(np.floor(y1 + v * (y2 - y1)), labels.shape[0] - 1).astype(int)
    return labels[py[:, None], px[None, :]]


@pytest.fixture(scope='module')
def fh_maps(tiny_demo_root):
    """Real FH segmentations of the tiny scenes, fine enough for > 255 ids, the
    ids shifted past 2**16 (nothing may cast them)."""
    segmenter = FelzenszwalbSegments(scale=20, min_size=4)
    out = []
    for path in sorted(glob.glob(osp.join(tiny_demo_root, 'train', '*')))[:4]:
        img = read_image(path)[0]
        out.append((img, segmenter.segment(img) + 70_000))
    return out


@pytest.mark.parametrize('seed', range(8))
def test_fh_maps_survive_crop_flip_resize(fh_maps, seed):
    pipeline = load_config('configs/objcon/detcon_r18_demo.py',
                           dict(view_size=48)).train_dataloader.dataset.pipeline
    views = TRANSFORMS.build(pipeline[2])
    assert views.region_map == dict(key='region_map', size=(48, 48))
    img, labels = fh_maps[seed % len(fh_maps)]
    assert len(np.unique(labels)) > 255
    np.random.seed(seed)
    out = views(dict(img=img.copy(), region_map=labels.astype(np.int32)))
    assert len(out['region_map']) == 2
    for view, maps, p in zip(out['img'], out['region_map'], out['view_params']):
        assert view.shape[:2] == maps.shape == (48, 48)
        assert maps.dtype == np.int32
        np.testing.assert_array_equal(
            maps, expected_view_labels(labels, p['crop'], p['flip'], (48, 48)))
        # only ids of the image, and many of them survive a crop
        assert np.isin(maps, labels).all()


def test_crops_and_flips_vary_over_draws(fh_maps):
    pipeline = load_config('configs/objcon/detcon_r18_demo.py',
                           dict(view_size=48)).train_dataloader.dataset.pipeline
    views = TRANSFORMS.build(pipeline[2])
    img, labels = fh_maps[0]
    np.random.seed(0)
    flips, areas = set(), []
    for _ in range(12):
        out = views(dict(img=img.copy(), region_map=labels.astype(np.int32)))
        for p in out['view_params']:
            flips.add(bool(p['flip']))
            x1, y1, x2, y2 = p['crop']
            areas.append((x2 - x1) * (y2 - y1) / (img.shape[0] * img.shape[1]))
    assert flips == {True, False}
    # DetCon's crop area U(0.08, 1): small crops occur
    assert min(areas) < 0.3 and max(areas) > 0.5
