"""Pretraining data is checked before the first iteration; a file that fails
later is skipped and counted, never a crash."""
import os
import os.path as osp

import numpy as np
import pytest

from objcon.proposals import PRESETS, CacheMismatchError, precompute_proposals
from objcon.utils import register_all_modules
from tests.test_proposals.bad_files import (bad_and_tricky_files, write_files,
                                            write_good_images,
                                            write_same_names_and_sizes)
from tests.test_proposals.conftest import mm_log  # noqa: F401 -- a fixture

GRID = PRESETS['grid']


@pytest.fixture(scope='module', autouse=True)
def registered():
    register_all_modules()


def listed(dataset, root):
    return [osp.relpath(dataset.get_data_info(i)['img_path'], root)
            for i in range(len(dataset))]


def build(img_root, cache=None, dataset_type='UnlabeledImageDataset', **kwargs):
    from objcon.registry import DATASETS
    pipeline = [dict(type='LoadImageOrSkip')]
    if cache is not None:
        pipeline.append(dict(type='LoadProposals', cache=cache, img_root=img_root,
                             **kwargs.pop('load_proposals', {})))
    return DATASETS.build(dict(type=dataset_type, data_prefix=img_root,
                               pipeline=pipeline, **kwargs))


def test_a_cache_of_other_images_with_same_names_and_sizes_is_refused(tmp_path,
                                                                      mm_log):
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    write_same_names_and_sizes(a, b, 4)
    cache_a = precompute_proposals(PRESETS['soco'], a, str(tmp_path / 'cache_a'),
                                   show_progress=False)
    cache_b = precompute_proposals(PRESETS['soco'], b, str(tmp_path / 'cache_b'),
                                   show_progress=False)
    assert cache_a.fingerprint == cache_b.fingerprint  # names and sizes agree
    assert any(not np.array_equal(cache_a[k], cache_b[k]) for k in cache_a.keys)
    with pytest.raises(CacheMismatchError, match='4 of 4 images read differ in '
                       'content') as info:
        build(b, cache_a.path)
    assert cache_a.path in str(info.value) and '--overwrite' in str(info.value)
    # Outside the dataset (mmpretrain's CustomDataset), LoadProposals refuses on
    # first use too: the check is on by default.
    dataset = build(b, cache_a.path, dataset_type='mmpretrain.CustomDataset',
                    with_label=False)
    with pytest.raises(CacheMismatchError, match='differ in content'):
        dataset[0]
    # The right cache passes; skipping the check is possible, and said loudly.
    assert len(build(b, cache_b.path)) == 4
    assert len(build(b, cache_a.path,
                     load_proposals=dict(check_fingerprint=False))) == 4
    assert any('is NOT checked against the images' in m for m in mm_log)


def test_images_the_precompute_skipped_are_left_out_with_one_line(tmp_path, mm_log):
    root = str(tmp_path / 'imgs')
    write_good_images(root, 3)
    files = bad_and_tricky_files()
    write_files(root, files)
    cache = precompute_proposals(GRID, root, str(tmp_path / 'cache'),
                                 show_progress=False)
    mm_log.clear()
    dataset = build(root, cache.path)
    usable = sorted(['000.jpg', '001.jpg', '002.jpg'] +
                    [name for name, (_, ok) in files.items() if ok])
    assert listed(dataset, root) == usable
    lines = [m for m in mm_log if m.startswith('left out')]
    assert len(lines) == 1 and lines[0].startswith('left out 3 of the 8 images')
    for i in range(len(dataset)):  # every sample loads, with its cached boxes
        sample = dataset[i]
        key = osp.relpath(sample['img_path'], root)
        assert np.array_equal(sample['proposals'], cache[key])


def test_a_cache_missing_an_image_is_refused_before_training(tmp_path):
    root = str(tmp_path / 'imgs')
    write_good_images(root, 4)
    cache = precompute_proposals(GRID, root, str(tmp_path / 'cache'),
                                 show_progress=False)
    write_good_images(osp.join(root, 'new'), 1, seed=50)  # added afterwards
    with pytest.raises(CacheMismatchError,
                       match=r"1 of the 5 images of .* are not in the proposal "
                             r"cache .*\(e\.g\. .*new/000\.jpg\)"):
        build(root, cache.path)
    whole = build(root, cache.path, load_proposals=dict(on_missing='whole_image'))
    assert len(whole) == 5


def test_a_file_that_fails_during_training_is_skipped_then_too_many_stop(
        tmp_path, mm_log):
    root = str(tmp_path / 'imgs')
    write_good_images(root, 10)
    dataset = build(root, max_bad_fraction=0.2)
    assert len(dataset) == 10
    # The files break after the dataset was built (e.g. a failing disk).
    write_files(root, {'003.jpg': b'', '007.jpg': b'not an image'})
    samples = [dataset[i] for i in range(10)]
    assert all(s['img'].shape == (64, 80, 3) for s in samples)
    assert not any(s['img_path'].endswith(('003.jpg', '007.jpg')) for s in samples)
    lines = [m for m in mm_log if 'skipped, another image is used' in m]
    assert lines[0].startswith(f"{osp.join(root, '003.jpg')}: empty file")
    assert '(1 unusable file(s) so far' in lines[0]
    assert any('007.jpg: not an image' in m and '(2 unusable' in m for m in lines)
    write_files(root, {'005.jpg': b''})  # 3 of 10 > 20%
    with pytest.raises(RuntimeError, match=r'3 of the 10 images of .* could not be '
                       r'used .* more than max_bad_fraction=0\.2'):
        for i in range(10):
            dataset[i]


def test_folder_with_link_loops_lists_each_real_image_once(tmp_path):
    root = str(tmp_path / 'imgs')
    write_good_images(root, 2)
    os.symlink('.', osp.join(root, 'up'))
    os.symlink('self.jpg', osp.join(root, 'self.jpg'))
    dataset = build(root)
    assert listed(dataset, root) == ['000.jpg', '001.jpg']


def test_with_label_is_refused():
    with pytest.raises(ValueError, match='with_label must be False'):
        build('x', with_label=True)


def test_an_image_changed_since_the_precompute_is_refused(tmp_path):
    root = str(tmp_path / 'imgs')
    write_good_images(root, 4)
    cache = precompute_proposals(GRID, root, str(tmp_path / 'cache'),
                                 show_progress=False)
    write_good_images(root, 1, seed=77)  # 000.jpg replaced by another image
    with pytest.raises(CacheMismatchError,
                       match=r'1 of 4 images differ in file size \(e\.g\. 000\.jpg\)'):
        build(root, cache.path)
