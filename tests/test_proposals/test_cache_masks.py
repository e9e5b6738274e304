"""Label maps in the proposal cache: exact round trip past 255 segments."""
import os.path as osp

import numpy as np
import pytest

from objcon.datasets.transforms import LoadProposals
from objcon.proposals import (CacheMismatchError, FelzenszwalbSegments,
                              ProposalCache, precompute_proposals, read_image,
                              write_proposal_cache)


def many_segments(rng, height=40, width=50, num=300):
    """A label map with ``num`` ids (all present), shuffled over the pixels."""
    labels = np.concatenate([np.arange(num),
                             rng.integers(0, num, height * width - num)])
    return rng.permutation(labels).reshape(height, width).astype(np.int32)


def test_written_label_maps_round_trip_with_ids_past_255(tmp_path):
    rng = np.random.default_rng(0)
    masks = {'a.jpg': many_segments(rng),  # 300 ids: uint16
             'b.jpg': np.zeros((7, 9), np.int64),  # one segment: uint8
             'c.jpg': np.full((3, 4), 70_000, np.int64)}  # uint32
    boxes = {k: np.zeros((0, 4), np.float32) for k in [*masks, 'skipped.jpg']}
    sizes = {k: m.shape for k, m in masks.items()}
    cache = write_proposal_cache(str(tmp_path / 'c'), boxes, sizes=sizes,
                                 masks=masks)
    cache = ProposalCache(cache.path)
    assert cache.has_masks
    for key, mask in masks.items():
        got = cache.get_mask(key)
        assert got.shape == mask.shape and np.array_equal(got, mask), key
    assert cache.get_mask('a.jpg').max() == 299
    assert int(cache.mask_codecs[cache.index('a.jpg')]) & 3 == 1  # uint16
    assert cache.get_mask('skipped.jpg').shape == (0, 0)
    assert cache.nbytes() > 0


def test_label_maps_must_be_non_negative_and_of_the_image_size(tmp_path):
    boxes = {'a.jpg': np.zeros((0, 4), np.float32)}
    with pytest.raises(ValueError, match='ids >= 0'):
        write_proposal_cache(str(tmp_path / 'neg'), boxes, sizes={'a.jpg': (2, 2)},
                             masks={'a.jpg': -np.ones((2, 2), np.int32)})
    with pytest.raises(ValueError, match='not the image size'):
        write_proposal_cache(str(tmp_path / 'size'), boxes,
                             sizes={'a.jpg': (2, 3)},
                             masks={'a.jpg': np.zeros((2, 2), np.int32)})


def test_precomputed_felzenszwalb_maps_equal_the_segmentation(tiny_demo_root,
                                                              tmp_path):
    """A fine segmentation (> 255 segments) through the precompute tool's code and
    back through LoadProposals(mask_key=...), id for id."""
    source = dict(type='FelzenszwalbSegments', scale=20, min_size=4)
    root = osp.join(tiny_demo_root, 'val')
    out = str(tmp_path / 'fh')
    cache = precompute_proposals(source, root, out, show_progress=False)
    assert cache.has_masks and len(cache) == 6
    segmenter = FelzenszwalbSegments(scale=20, min_size=4)
    load = LoadProposals(cache=out, mask_key='region_map')
    most = 0
    for key in cache.keys:
        img = read_image(osp.join(root, key))[0]
        expected = segmenter.segment(img)
        assert np.array_equal(cache.get_mask(key), expected), key
        results = load(dict(img=img, img_path=osp.join(root, key)))
        assert results['region_map'].dtype == np.int32
        assert np.array_equal(results['region_map'], expected), key
        most = max(most, int(expected.max()) + 1)
    assert most > 255  # the reference's uint8 PNGs would have wrapped


def test_a_box_only_cache_has_no_label_maps(tiny_demo_root, tiny_demo_proposals):
    load = LoadProposals(cache=tiny_demo_proposals, mask_key='region_map')
    img_path = osp.join(tiny_demo_root, 'train', ProposalCache(
        tiny_demo_proposals).keys[0])
    with pytest.raises(CacheMismatchError, match='holds no label maps.*detcon'):
        load(dict(img=read_image(img_path)[0], img_path=img_path))
    with pytest.raises(ValueError, match='needs a mask source'):
        LoadProposals(source=dict(type='GridBoxes'), mask_key='region_map')
