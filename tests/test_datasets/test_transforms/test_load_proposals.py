"""LoadProposals in a real pipeline: decoded files, a cache, online sources."""
import os.path as osp
import pickle

import numpy as np
import pytest
from mmengine.dataset import Compose

from objcon.datasets.transforms import LoadProposals
from objcon.proposals import (SelectiveSearch, precompute_proposals, read_image,
                              write_proposal_cache)
from objcon.utils import register_all_modules

SS = dict(type='SelectiveSearch', max_side=64, filter=dict(min_size=16))


def pipeline(**kwargs):
    register_all_modules()
    return Compose([dict(type='LoadImageFromFile'),
                    dict(type='objcon.LoadProposals', **kwargs)])


@pytest.fixture(scope='module')
def val_cache(tiny_demo_root, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('cache'))
    precompute_proposals(SS, osp.join(tiny_demo_root, 'val'), out, show_progress=False)
    return out


def test_from_cache_matches_the_source(tiny_demo_root, val_cache):
    path = osp.join(tiny_demo_root, 'val', '000002.jpg')
    results = pipeline(cache=val_cache)(dict(img_path=path))
    boxes = results['proposals']
    assert boxes.dtype == np.float32 and boxes.shape[1] == 4 and len(boxes)
    img, _ = read_image(path)
    assert np.array_equal(results['img'], img)  # same decoding as the cache's
    assert np.array_equal(boxes, SelectiveSearch(**{k: v for k, v in SS.items()
                                                    if k != 'type'})(img))
    # Pickled into a dataloader worker: reopened there, same answer.
    transform = pickle.loads(pickle.dumps(pipeline(cache=val_cache)))
    assert np.array_equal(transform(dict(img_path=path))['proposals'], boxes)


def test_missing_image_error_or_fallback(tiny_demo_root, tmp_path):
    path = osp.join(tiny_demo_root, 'val', '000001.jpg')
    cache = str(tmp_path / 'c')
    write_proposal_cache(cache, {'000000.jpg': np.ones((2, 4), np.float32)},
                         meta=dict(img_root=osp.join(tiny_demo_root, 'val')))
    # A hand-made cache without file identities: the check is not the point here.
    unchecked = dict(cache=cache, check_fingerprint=False)
    with pytest.raises(KeyError, match="'000001.jpg' is not in the proposal cache"):
        pipeline(**unchecked)(dict(img_path=path))
    whole = pipeline(**unchecked, on_missing='whole_image')(dict(img_path=path))
    assert whole['proposals'].tolist() == [[0, 0, 128, 128]]
    empty = pipeline(**unchecked, on_missing='empty')(dict(img_path=path))
    assert empty['proposals'].shape == (0, 4)


def test_size_mismatch_and_fingerprint_check(tiny_demo_root, tmp_path, val_cache):
    root = osp.join(tiny_demo_root, 'val')
    cache = str(tmp_path / 'c')
    write_proposal_cache(cache, {'000000.jpg': np.ones((2, 4), np.float32)},
                         sizes={'000000.jpg': (64, 64)})
    with pytest.raises(ValueError, match='right after LoadImageFromFile'):
        pipeline(cache=cache, img_root=root, check_fingerprint=False)(
            dict(img_path=f'{root}/000000.jpg'))
    from objcon.proposals import CacheMismatchError
    with pytest.raises(CacheMismatchError):
        pipeline(cache=cache, img_root=root, check_fingerprint=True)(
            dict(img_path=f'{root}/000000.jpg'))
    ok = pipeline(cache=val_cache, check_fingerprint=True)
    assert len(ok(dict(img_path=f'{root}/000000.jpg'))['proposals'])


def test_online_sources_boxes_and_masks(tiny_demo_root):
    path = osp.join(tiny_demo_root, 'val', '000003.jpg')
    results = pipeline(source=dict(type='GridBoxes', rows=2, cols=2))(
        dict(img_path=path))
    assert results['proposals'].tolist()[-1] == [64, 64, 128, 128]
    assert 'proposal_masks' not in results
    fz = pipeline(source=dict(type='FelzenszwalbSegments', min_size=200))(
        dict(img_path=path))
    masks = fz['proposal_masks']
    assert masks.shape == (128, 128) and masks.dtype == np.int32
    assert len(fz['proposals']) == masks.max() + 1


def test_needs_exactly_one_of_cache_and_source():
    with pytest.raises(ValueError, match='exactly one'):
        LoadProposals()
    with pytest.raises(ValueError, match='exactly one'):
        LoadProposals(cache='x', source=dict(type='WholeImage'))
