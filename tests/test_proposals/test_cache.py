"""The proposal cache: exact round trip, compact encoding, refusing mismatches."""
import json

import numpy as np
import pytest

from objcon.proposals import (CacheMismatchError, ProposalCache, ProposalCacheWriter,
                              ProposalStatus, decode_boxes, encode_boxes,
                              write_proposal_cache)


def random_boxes(rng, n, size):
    xy = rng.integers(0, size // 2, (n, 2))
    wh = rng.integers(1, size // 2, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(np.float32)


def test_round_trip_equals_input(tmp_path):
    rng = np.random.default_rng(0)
    boxes = {
        'a/small.jpg': random_boxes(rng, 30, 250),  # fits uint8
        'a/large.jpg': random_boxes(rng, 7, 4000),  # needs uint16
        'b/huge.png': random_boxes(rng, 3, 200_000),  # needs uint32
        'b/empty.jpg': np.zeros((0, 4), np.float32),
        'c/one.jpg': np.array([[0, 0, 1, 1]], np.float32),
    }
    status = {'b/empty.jpg': ProposalStatus.SKIPPED,
              'c/one.jpg': ProposalStatus.FALLBACK}
    sizes = {'c/one.jpg': (1, 1)}
    cache = write_proposal_cache(str(tmp_path / 'c'), boxes, sizes=sizes, status=status)
    reopened = ProposalCache(str(tmp_path / 'c'))
    assert len(reopened) == 5 and reopened.keys == sorted(boxes)
    for key, expected in boxes.items():
        got = reopened[key]
        assert got.dtype == np.float32 and got.shape == expected.shape
        assert np.array_equal(got, expected), key
    assert reopened.get_status('b/empty.jpg') == ProposalStatus.SKIPPED
    assert reopened.get_status('a/small.jpg') == ProposalStatus.OK
    assert reopened.get_size('c/one.jpg') == (1, 1)
    assert reopened.meta['num_boxes'] == 41
    assert cache.nbytes() == reopened.nbytes()
    with pytest.raises(KeyError, match='not in the proposal cache'):
        reopened['nope.jpg']


def test_boxes_on_a_search_grid_are_exact_and_take_one_byte_per_coordinate():
    # Selective search on a 3.2x downscaled image: non-integer pixel coordinates.
    unit = (1000 / 312, 750 / 234)
    grid = np.random.default_rng(1).integers(0, 234, (40, 4)).astype(np.float32)
    boxes = grid * np.float32([unit[0], unit[1], unit[0], unit[1]])
    data, codec, used = encode_boxes(boxes, unit)
    assert np.array_equal(decode_boxes(data, codec, used), boxes)
    assert len(data) <= 40 * 4
    # Boxes off that grid fall back to whole pixels (rounded).
    off = boxes + 0.5
    data, codec, used = encode_boxes(off, unit)
    assert used.tolist() == [1, 1]
    assert np.abs(decode_boxes(data, codec, used) - off).max() <= 0.5


def test_cache_is_much_smaller_than_soco_json(tmp_path):
    rng = np.random.default_rng(2)
    boxes = {f'n0144/{i:08d}.JPEG': random_boxes(rng, 100, 256) for i in range(50)}
    cache = write_proposal_cache(str(tmp_path / 'c'), boxes)
    soco = {k: [[x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in v.astype(int).tolist()]
            for k, v in boxes.items()}
    assert cache.nbytes() < len(json.dumps(soco)) / 4


def test_fingerprint_mismatch_is_refused(tmp_path):
    path = str(tmp_path / 'c')
    cache = write_proposal_cache(path, {'x.jpg': np.ones((1, 4), np.float32)},
                                 meta=dict(fingerprint='a' * 64))
    cache.check_fingerprint('a' * 64)
    with pytest.raises(CacheMismatchError, match='another dataset'):
        cache.check_fingerprint('b' * 64)
    meta = dict(source={}, fingerprint='b' * 64, num_images=1, chunk_size=1)
    with pytest.raises(CacheMismatchError, match='another dataset'):
        ProposalCacheWriter(path, meta)
    # A partial cache is refused too, and --overwrite replaces either.
    partial = str(tmp_path / 'p')
    ProposalCacheWriter(partial, dict(meta, fingerprint='c' * 64))
    with pytest.raises(CacheMismatchError):
        ProposalCacheWriter(partial, meta)
    writer = ProposalCacheWriter(path, meta, overwrite=True)
    assert not writer.complete and writer.done_chunks() == set()


def test_incomplete_cache_is_not_readable(tmp_path):
    meta = dict(source={}, fingerprint='a' * 64, num_images=2, chunk_size=1)
    writer = ProposalCacheWriter(str(tmp_path), meta)
    writer.write_chunk(0, ['a.jpg'], [np.ones((1, 4))], [(10, 10)], [0])
    with pytest.raises(FileNotFoundError, match='resume'):
        ProposalCache(str(tmp_path))
    with pytest.raises(RuntimeError, match='not written'):
        writer.finalize(2)
