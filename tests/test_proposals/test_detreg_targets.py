"""DETReg's targets: the ``detreg`` preset and the images with too few boxes."""
import ctypes
import os.path as osp

import cv2
import numpy as np
import pytest

from objcon.proposals import PRESETS, SelectiveSearch, write_proposal_cache
from objcon.registry import PROPOSAL_SOURCES
from tests.test_proposals.bad_files import write_good_images
from tests.test_proposals.conftest import mm_log  # noqa: F401 -- a fixture
from tests.test_proposals.test_sources import scene


def test_detreg_preset_is_the_first_30_fast_boxes_of_a_128x128_search():
    img, _ = scene(h=200, w=320)  # aspect 1.6: the search squeezes it
    rng = np.random.default_rng(1)
    for x, y in rng.integers(0, 280, (12, 2)):  # more regions than 30
        img[y % 170:y % 170 + 30, x:x + 40] = rng.integers(0, 255, 3)
    source = PROPOSAL_SOURCES.build(PRESETS['detreg'])
    boxes = source(img)
    # The reference's recipe by hand: resize to 128x128, fast mode, first 30.
    small = cv2.resize(img, (128, 128), interpolation=cv2.INTER_AREA)
    search = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    search.setBaseImage(small)
    search.switchToSelectiveSearchFast()
    ctypes.CDLL(None).srand(0)  # the source's reproducible box order
    rects = search.process().astype(np.float32)
    assert len(rects) > 30
    rects = rects[:30]
    expected = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], 1)
    expected *= np.float32([320 / 128, 200 / 128, 320 / 128, 200 / 128])
    assert len(boxes) == 30
    np.testing.assert_allclose(boxes, np.minimum(expected, [320, 200, 320, 200]))
    assert source.box_unit((200, 320)) == (2.5, 200 / 128)
    # A small image is searched upscaled to 128x128 as well.
    tiny = cv2.resize(img, (64, 40))
    assert SelectiveSearch(mode='fast', search_size=(128, 128)).box_unit(
        (40, 64)) == (0.5, 40 / 128)
    assert source(tiny)[:, 2].max() <= 64


def test_search_size_is_checked():
    with pytest.raises(ValueError, match='search_size must be'):
        SelectiveSearch(search_size=(128, 0))


def test_images_with_fewer_than_min_boxes_are_left_out(tmp_path, mm_log):
    from objcon.registry import DATASETS
    from objcon.utils import register_all_modules
    register_all_modules()
    root = str(tmp_path / 'imgs')
    write_good_images(root, 4)
    boxes = {'000.jpg': np.zeros((0, 4), np.float32),
             '001.jpg': np.float32([[0, 0, 10, 10]]),
             '002.jpg': np.float32([[0, 0, 10, 10], [5, 5, 20, 20]]),
             '003.jpg': np.float32([[0, 0, 10, 10]] * 3)}
    cache = write_proposal_cache(str(tmp_path / 'cache'), boxes)
    pipeline = [dict(type='LoadImageOrSkip'),
                dict(type='LoadProposals', cache=cache.path, img_root=root,
                     check_fingerprint=False, min_boxes=2)]
    dataset = DATASETS.build(dict(type='UnlabeledImageDataset', data_prefix=root,
                                  pipeline=pipeline))
    kept = [osp.basename(dataset.get_data_info(i)['img_path'])
            for i in range(len(dataset))]
    assert kept == ['002.jpg', '003.jpg']
    assert any(m.startswith('left out 2 images with fewer than 2 boxes')
               for m in mm_log)
    assert all(len(dataset[i]['proposals']) >= 2 for i in range(len(dataset)))
    from objcon.registry import TRANSFORMS
    with pytest.raises(ValueError, match='min_boxes needs a cache'):
        TRANSFORMS.build(dict(type='LoadProposals', source=PRESETS['grid'],
                              min_boxes=2))
