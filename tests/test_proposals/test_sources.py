"""Proposal sources on real images: mapping back, masks, simple sources, GT."""
import cv2
import numpy as np
import pytest
import torch

from objcon.proposals import (SOCO_FILTER, FelzenszwalbSegments, GridBoxes,
                              GroundTruthBoxes, ProposalStatus, RandomBoxes,
                              SelectiveSearch, WholeImage, downscaled_size,
                              read_image)
from objcon.registry import PROPOSAL_GENERATORS, PROPOSAL_SOURCES
from objcon.structures import box_iou


def scene(h=200, w=320):
    """A noisy background with one bright rectangle at a known place."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
    x1, y1, x2, y2 = w * 5 // 16, h // 5, w * 13 // 16, h * 4 // 5
    img[y1:y2, x1:x2] = (30, 200, 240)
    return img, np.array([[x1, y1, x2, y2]], np.float32)


def test_selective_search_maps_boxes_back_from_the_downscaled_search():
    img, obj = scene()
    ss = SelectiveSearch(mode='fast', max_side=80)
    boxes = ss(img)
    # The same search run by hand on the downscaled image, scaled by W/w, H/h.
    nh, nw = downscaled_size(img.shape[:2], 80)
    assert (nh, nw) == (50, 80)
    small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    search = cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
    search.setBaseImage(small)
    search.switchToSelectiveSearchFast()
    import ctypes
    ctypes.CDLL(None).srand(0)  # what the source does: a reproducible box order
    rects = search.process().astype(np.float32)
    expected = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], 1)
    expected *= np.float32([320 / 80, 200 / 50, 320 / 80, 200 / 50])
    np.testing.assert_allclose(boxes, np.minimum(expected, [320, 200, 320, 200]))
    # In the input image's pixels: the object is found where it is.
    assert boxes[:, 2].max() > 200 and boxes[:, 3].max() > 150
    assert box_iou(boxes, obj).max() > 0.85
    assert ss.box_unit(img.shape[:2]) == (4.0, 4.0)
    assert np.array_equal(boxes, ss(img))  # same image, same boxes, same order
    # The default (custom) mode finds it as well, also mapped back.
    default = SelectiveSearch(max_side=80)(img)
    assert box_iou(default, obj).max() > 0.85 and default[:, 2].max() > 200


def test_custom_mode_building_blocks():
    img, obj = scene(96, 128)
    one = SelectiveSearch(color_spaces=('HSV', ), strategies=('size', ))(img)
    two = SelectiveSearch(color_spaces=('HSV', 'Lab'),
                          strategies=('color+fill+size+texture', 'size'))(img)
    assert len(two) > len(one) > 0
    with pytest.raises(ValueError, match='unknown'):
        SelectiveSearch(strategies=('colour', ))


def test_default_search_is_the_documented_opencv_pipeline():
    """Defaults: 176 px, HSV, k 175 (min size 175), sigma 0.5, strategies
    fill+size and size."""
    img, _ = scene(200, 320)
    boxes = SelectiveSearch()(img)
    nh, nw = downscaled_size(img.shape[:2], 176)
    assert (nh, nw) == (110, 176)
    small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    seg = cv2.ximgproc.segmentation
    search = seg.createSelectiveSearchSegmentation()
    search.addImage(cv2.cvtColor(small, cv2.COLOR_BGR2HSV))
    search.addGraphSegmentation(seg.createGraphSegmentation(0.5, 175.0, 175))
    search.addStrategy(seg.createSelectiveSearchSegmentationStrategyMultiple(
        seg.createSelectiveSearchSegmentationStrategyFill(),
        seg.createSelectiveSearchSegmentationStrategySize()))
    search.addStrategy(seg.createSelectiveSearchSegmentationStrategySize())
    import ctypes
    ctypes.CDLL(None).srand(0)
    rects = search.process().astype(np.float32)
    expected = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], 1)
    expected *= np.float32([320 / nw, 200 / nh, 320 / nw, 200 / nh])
    np.testing.assert_allclose(boxes, np.minimum(expected, [320, 200, 320, 200]))
    assert SelectiveSearch().sigma == 0.5 and SelectiveSearch(mode='fast').sigma == 0.8


def test_selective_search_full_resolution_and_quality_mode():
    img, obj = scene(96, 128)
    fast = SelectiveSearch(mode='fast', max_side=None)(img)
    quality = SelectiveSearch(mode='quality', max_side=None)(img)
    assert len(quality) > len(fast)
    assert box_iou(fast, obj).max() > 0.9
    with pytest.raises(ValueError):
        SelectiveSearch(mode='slow')


def test_filtered_source_and_empty_fallback():
    img, _ = scene()
    boxes = SelectiveSearch(max_side=80, filter=SOCO_FILTER)(img)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    assert len(boxes) and (w >= 32).all() and (h >= 32).all()
    # A filter nothing can pass: whole-image box, or nothing if so configured.
    impossible = dict(min_size=10_000)
    got = SelectiveSearch(max_side=80, filter=impossible).get_proposals(img)
    assert got.status == ProposalStatus.FALLBACK
    assert got.boxes.tolist() == [[0, 0, 320, 200]]
    none = SelectiveSearch(max_side=80, filter=impossible, empty_fallback='none')
    assert none(img).shape == (0, 4)


@pytest.mark.parametrize('make', [
    lambda img: cv2.cvtColor(img, cv2.COLOR_BGR2GRAY),  # gray HxW
    lambda img: cv2.cvtColor(img, cv2.COLOR_BGR2BGRA),  # RGBA
    lambda img: img.astype(np.uint16) * 257,  # 16-bit
], ids=['gray', 'rgba', '16bit'])
def test_sources_accept_gray_rgba_16bit(make):
    img, obj = scene(96, 128)
    for source in (SelectiveSearch(max_side=None), FelzenszwalbSegments(min_size=50)):
        boxes = source(make(img))
        assert boxes.dtype == np.float32 and len(boxes)
        assert (boxes[:, 2] <= 128).all() and (boxes[:, 3] <= 96).all()
    assert box_iou(SelectiveSearch(max_side=None)(make(img)), obj).max() > 0.8


def test_one_pixel_image_gets_the_whole_image_box():
    for source in (SelectiveSearch(filter=SOCO_FILTER), FelzenszwalbSegments(),
                   GridBoxes(), WholeImage()):
        got = source.get_proposals(np.zeros((1, 1, 3), np.uint8))
        assert got.boxes.tolist() == [[0, 0, 1, 1]], type(source).__name__
    assert SelectiveSearch().get_proposals(
        np.zeros((1, 1, 3), np.uint8)).status == ProposalStatus.FALLBACK


def test_felzenszwalb_masks_and_their_boxes(tiny_demo_root):
    img, _ = read_image(f'{tiny_demo_root}/val/000000.jpg')
    fz = FelzenszwalbSegments(scale=1000, min_size=200)
    labels = fz.segment(img)
    assert labels.shape == img.shape[:2] and labels.dtype == np.int32
    assert labels.min() == 0 and labels.max() >= 1
    found, masks = fz.segment_and_propose(img)
    assert np.array_equal(masks, labels)
    assert len(found.boxes) == labels.max() + 1
    ys, xs = np.nonzero(labels == 1)
    assert found.boxes[1].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    # Downscaled segmentation keeps the input size and min_size in input pixels.
    small = FelzenszwalbSegments(scale=1000, min_size=200, max_side=64).segment(img)
    assert small.shape == img.shape[:2]
    assert np.bincount(small.ravel()).min() >= 150


def test_grid_random_whole():
    img = np.zeros((100, 200, 3), np.uint8)
    grid = GridBoxes(rows=2, cols=4)(img)
    assert grid.shape == (8, 4) and grid[-1].tolist() == [150, 50, 200, 100]
    seeded = RandomBoxes(num=10, seed=3)
    a, b = seeded(img, 'x.jpg'), seeded(img, 'x.jpg')
    assert np.array_equal(a, b) and not np.array_equal(a, seeded(img, 'y.jpg'))
    assert (a[:, 2] <= 200).all() and (a[:, 3] <= 100).all() and (a >= 0).all()
    ratio = (a[:, 2] - a[:, 0]) / (a[:, 3] - a[:, 1])
    assert ((ratio > 1 / 3 - 1e-3) | (a[:, 2] - a[:, 0] >= 199)).all()
    assert not np.array_equal(RandomBoxes(num=10)(img), RandomBoxes(num=10)(img))
    assert WholeImage()(img).tolist() == [[0, 0, 200, 100]]


def test_grid_boxes_of_a_given_scale():
    img = np.zeros((100, 200, 3), np.uint8)
    boxes = GridBoxes(rows=2, cols=3, scale=0.4)(img)
    assert boxes.shape == (6, 4)
    # every box 80 x 40 (the image's aspect), the outer ones on the border
    assert np.allclose(boxes[:, 2:] - boxes[:, :2], [80, 40])
    assert boxes[0].tolist() == [0, 0, 80, 40] and boxes[-1].tolist() == [120, 60,
                                                                        200, 100]
    assert boxes[4].tolist() == [60, 60, 140, 100]
    # one row or column is centred; scale 1/n is the n x n tiling
    assert GridBoxes(rows=1, cols=1, scale=0.5)(img).tolist() == [[50, 25, 150, 75]]
    assert np.allclose(GridBoxes(rows=4, cols=4, scale=0.25)(img),
                       GridBoxes(rows=4, cols=4)(img))
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match='scale'):
            GridBoxes(scale=bad)


def test_registry_and_params():
    cfg = dict(type='SelectiveSearch', mode='quality', max_side=64)
    source = PROPOSAL_SOURCES.build(cfg)
    assert isinstance(source, SelectiveSearch)
    params = source.params
    assert params['mode'] == 'quality' and params['max_side'] == 64
    # sigma None: OpenCV's 0.8 outside 'custom' mode.
    assert params['sigma'] is None and source.sigma == 0.8
    assert params['type'] == 'SelectiveSearch'
    rebuilt = PROPOSAL_SOURCES.build(params)
    assert rebuilt.params == params


def test_ground_truth_boxes_are_loud(tiny_demo_root, mm_log):
    import json
    ann = f'{tiny_demo_root}/annotations/instances_val.json'
    gt = GroundTruthBoxes(ann)
    assert any('ANNOTATED' in m for m in mm_log)
    coco = json.load(open(ann))
    first = coco['images'][0]
    x, y, w, h = next(a['bbox'] for a in coco['annotations']
                      if a['image_id'] == first['id'])
    img, _ = read_image(f'{tiny_demo_root}/val/{first["file_name"]}')
    assert [x, y, x + w, y + h] in gt(img, first['file_name']).tolist()
    with pytest.raises(KeyError, match='not an image'):
        gt(img, 'nope.jpg')


def test_per_image_source_as_an_in_model_generator():
    batch = PROPOSAL_GENERATORS.build(
        dict(type='PerImageProposals', source=dict(type='GridBoxes', rows=2, cols=2)))
    feats = torch.zeros(2, 8, 7, 7)
    out = batch(feats, [(224, 224), (112, 160)])
    assert len(out) == 2 and out[0].shape == (4, 4) and out[0].dtype == torch.float32
    assert out[1][-1].tolist() == [80, 56, 160, 112]
