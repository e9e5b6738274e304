"""A damaged cache is named with its file and rebuilt by --overwrite; one writer
at a time."""
import json
import multiprocessing as mp
import os
import os.path as osp
import time

import numpy as np
import pytest

from objcon.proposals import (PRESETS, CacheBusyError, CacheDamagedError,
                              ProposalCache, ProposalCacheWriter,
                              precompute_proposals)
from .bad_files import write_good_images

GRID = PRESETS['grid']


def cache_files(path):
    return {f: open(osp.join(path, f), 'rb').read() for f in sorted(os.listdir(path))
            if f != '.lock'}


def truncate(path, keep=0.5):
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:int(len(data) * keep)])


@pytest.fixture
def images(tmp_path):
    root = str(tmp_path / 'imgs')
    write_good_images(root, 6)
    return root


def drop_last(path):
    """Rewrite a file well-formed but one entry short (e.g. from another run)."""
    if path.endswith('.json'):
        with open(path) as f:
            keys = json.load(f)
        with open(path, 'w') as f:
            json.dump(keys[:-1], f)
    else:
        np.save(path, np.load(path)[:-1])


# what is done -> (file, how)
DAMAGES = {
    'codes truncated': ('codes.npy', truncate),
    'keys truncated': ('keys.json', truncate),
    'meta truncated': ('meta.json', truncate),
    'status truncated': ('status.npy', lambda p: truncate(p, keep=0.9)),
    'offsets deleted': ('offsets.npy', os.remove),
    'codes short': ('codes.npy', drop_last),
    'keys short': ('keys.json', drop_last),
    'digests short': ('digests.npy', drop_last),
}


@pytest.mark.parametrize('damage', sorted(DAMAGES))
def test_damaged_cache_is_named_and_overwrite_rebuilds_it(images, tmp_path, damage,
                                                         load_script, capsys):
    name, how = DAMAGES[damage]
    reference = str(tmp_path / 'reference')
    precompute_proposals(GRID, images, reference, show_progress=False)
    out = str(tmp_path / 'cache')
    precompute_proposals(GRID, images, out, show_progress=False)
    how(osp.join(out, name))

    with pytest.raises(CacheDamagedError) as info:
        ProposalCache(out)
    message = str(info.value)
    assert f'proposal cache {out!r} is damaged: {name}' in message
    assert '--overwrite' in message

    tool = load_script('tools/precompute_proposals.py')
    args = [images, out, '--source', 'grid', '--no-progress']
    assert tool.main(args) == 2  # refused, not "already complete"
    assert f'is damaged: {name}' in capsys.readouterr().err
    assert tool.main(args + ['--overwrite']) == 0
    assert cache_files(out) == cache_files(reference)
    assert tool.main(args) == 0  # and now it is complete


def _precompute_in_child(out, images, wait, overwrite, codes):
    try:
        precompute_proposals(GRID, images, out, show_progress=False, wait=wait,
                             overwrite=overwrite, chunk_size=1)
    except CacheBusyError as e:
        codes.put(('busy', str(e)))
        return
    codes.put(('ok', ''))


def _child(*args):
    codes = mp.get_context('fork').Queue()
    proc = mp.get_context('fork').Process(target=_precompute_in_child,
                                          args=(*args, codes))
    proc.start()
    return proc, codes


def test_a_second_writer_refuses_or_waits(images, tmp_path):
    out = str(tmp_path / 'cache')
    holder = ProposalCacheWriter(out, dict(source={}, fingerprint='x', num_images=1,
                                           chunk_size=1))
    proc, codes = _child(out, images, False, False)
    proc.join(60)
    outcome, message = codes.get(timeout=5)
    assert outcome == 'busy'
    assert f'is being written by another process (pid {os.getpid()})' in message
    assert '--wait' in message

    proc, codes = _child(out, images, True, True)
    time.sleep(1.0)
    assert proc.is_alive() and codes.empty()  # waiting for the lock
    holder.close()
    proc.join(60)
    assert codes.get(timeout=5) == ('ok', '')
    assert len(ProposalCache(out)) == 6


def test_two_concurrent_precomputes_leave_one_good_cache(images, tmp_path):
    reference = str(tmp_path / 'reference')
    precompute_proposals(GRID, images, reference, show_progress=False, chunk_size=1)
    out = str(tmp_path / 'cache')
    children = [_child(out, images, False, False) for _ in range(2)]
    outcomes = []
    for proc, codes in children:
        proc.join(60)
        assert proc.exitcode == 0
        outcomes.append(codes.get(timeout=5)[0])
    assert 'ok' in outcomes and set(outcomes) <= {'ok', 'busy'}
    assert cache_files(out) == cache_files(reference)


def test_a_cache_without_file_identities_is_checked_by_its_fingerprint(
        images, tmp_path, mm_log):
    out = str(tmp_path / 'cache')
    precompute_proposals(GRID, images, out, show_progress=False)
    for name in ('filesizes.npy', 'digests.npy'):  # as an older objcon wrote it
        os.remove(osp.join(out, name))
    from objcon.proposals import CacheMismatchError, list_images, load_cache_for
    assert len(load_cache_for(images, out)) == 6
    assert any('no per-image file sizes' in m for m in mm_log)
    entries = list_images(images)
    with pytest.raises(CacheMismatchError, match='made for another dataset'):
        ProposalCache(out).verify(images, entries[:-1])
