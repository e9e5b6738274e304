"""SkimageSelectiveSearch: SoCo's reference selective search, step by step and as a
whole against the PyPI package it was derived from."""
import warnings

import cv2
import numpy as np
import pytest

from objcon.proposals import (PRESETS, SOCO_FILTER, SkimageSelectiveSearch,
                              parse_source, read_image)
from objcon.proposals.skimage_selective_search import (_group_hierarchically,
                                                       _initial_neighbours)
from objcon.registry import PROPOSAL_SOURCES


def photo(tmp_path, side=200):
    """skimage's cat photograph, downscaled, written to and decoded from a JPEG."""
    from skimage.data import chelsea
    rgb = chelsea()
    scale = side / max(rgb.shape[:2])
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    path = str(tmp_path / 'chelsea.jpg')
    cv2.imwrite(path, small[:, :, ::-1])
    img, reason = read_image(path)
    assert img is not None, reason
    return img


def test_boxes_identical_to_the_pypi_package(tmp_path):
    """The PyPI package bins the LBP codes over [0, 1] (SoCo fixed that to
    [0, 255]): with that range, every box, in order, equals the package's."""
    selectivesearch = pytest.importorskip('selectivesearch')
    img = photo(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        _, regions = selectivesearch.selective_search(
            img[:, :, ::-1], scale=300, sigma=0.9, min_size=100)
    expected = np.array([r['rect'] for r in regions], np.float32)
    expected[:, 2:] += expected[:, :2]
    # The reference visits the initial regions in raster order of their first
    # pixel; skimage numbers them so.
    labels = SkimageSelectiveSearch().segment_regions(img)
    _, first = np.unique(labels, return_index=True)
    assert (np.diff(first) > 0).all()
    ours = SkimageSelectiveSearch(texture_range=(0, 1)).propose(img)
    assert len(expected) > 20  # a real hierarchy, not a handful of regions
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, expected)
    # SoCo's texture range changes the merges, not the initial regions.
    soco = SkimageSelectiveSearch().propose(img)
    num = int(labels.max()) + 1
    np.testing.assert_array_equal(soco[:num], expected[:num])
    assert not np.array_equal(soco, expected)


def test_initial_regions_then_merges_on_a_flat_scene():
    img = np.full((96, 128, 3), 40, np.uint8)
    img[20:60, 30:90] = (20, 200, 240)  # one flat object, pixels x 30..89, y 20..59
    source = SkimageSelectiveSearch(sigma=0, min_size=20)  # no blur: sharp edges
    labels = source.segment_regions(img)
    assert labels.max() == 1 and labels[0, 0] == 0  # background first (raster order)
    boxes = source.propose(img)
    # Reference boxes: [min_x, min_y, max_x, max_y] of the pixels.
    assert boxes[:2].tolist() == [[0, 0, 127, 95], [30, 20, 89, 59]]
    # The object's box lies strictly inside the background's (the reference's
    # neighbour rule), so they merge: one more box, the whole hierarchy.
    assert boxes[2:].tolist() == [[0, 0, 127, 95]]


def test_neighbours_are_corners_strictly_inside_an_earlier_box():
    boxes = np.array([[0, 0, 10, 10],     # 0
                      [5, 5, 20, 20],     # 1: corner (5, 5) inside 0
                      [10, 0, 20, 4],     # 2: touches 0's edge only
                      [12, 12, 14, 14],   # 3: inside 1
                      [-5, -5, 30, 30]])  # 4: contains all, no corner inside any
    a, b = _initial_neighbours(boxes)
    assert list(zip(a.tolist(), b.tolist())) == [(0, 1), (1, 3)]


def test_merge_order_highest_similarity_then_latest_recorded_pair():
    # Regions 1 and 2 mirror each other around region 0: pairs (0, 1) and (0, 2)
    # have the same similarity; (1, 2)'s union box is larger (lower fill).
    boxes = np.array([[0, 0, 10, 10], [5, 2, 15, 8], [2, 5, 8, 15]], np.int64)
    sizes = np.array([40, 40, 40], np.int64)
    hists = np.full((3, 4), 0.5)
    merged = _group_hierarchically(boxes, sizes, hists, 2, 400)
    # The tie goes to (0, 2), recorded after (0, 1), as the reference's sort does.
    assert merged[3:].tolist() == [[0, 0, 10, 15], [0, 0, 15, 15]]
    # A closer histogram outweighs the tie: region 1 same as 0, region 2 apart.
    hists[2] = (1.0, 0.0, 1.0, 0.0)
    hists[:2] = (0.0, 1.0, 0.0, 1.0)
    merged = _group_hierarchically(boxes, sizes, hists, 2, 400)
    assert merged[3:].tolist() == [[0, 0, 15, 10], [0, 0, 15, 15]]


def test_preset_filter_params_and_bad_arguments(tmp_path):
    cfg = parse_source('soco-reference')
    assert cfg == PRESETS['soco-reference'] and cfg['filter'] == SOCO_FILTER
    source = PROPOSAL_SOURCES.build(cfg)
    assert isinstance(source, SkimageSelectiveSearch)
    assert source.params['scale'] == 300 and source.params['sigma'] == 0.9
    assert source.params['min_size'] == 100
    img = photo(tmp_path)
    raw, kept = source.propose(img), source(img)
    assert 0 < len(kept) < len(raw)
    w, h = kept[:, 2] - kept[:, 0], kept[:, 3] - kept[:, 1]
    assert (w >= 32).all() and (h >= 32).all()
    with pytest.raises(ValueError, match='colour_range'):
        SkimageSelectiveSearch(colour_range=(1, 1))
    with pytest.raises(ValueError, match='scale'):
        SkimageSelectiveSearch(scale=0)
