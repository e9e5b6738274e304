"""precompute_proposals / tools/precompute_proposals.py on real image files."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from objcon.proposals import (CacheMismatchError, ProposalCache, ProposalStatus,
                              dataset_fingerprint, list_images, load_cache_for,
                              precompute_proposals)

SS = dict(type='SelectiveSearch', mode='quality', max_side=None,
          filter=dict(min_size=16, nms_iou=0.7, max_num=40))


def cache_files(path):
    return {f: open(osp.join(path, f), 'rb').read() for f in sorted(os.listdir(path))}


def _die_during_image(n, img_root, out):
    """Precompute, dying abruptly (no cleanup, like SIGKILL) while the source
    works on image ``n``: a deterministic kill point, no race with a poll."""
    from objcon.proposals import SelectiveSearch
    propose, calls = SelectiveSearch.propose, [0]

    def propose_then_die(self, img, key=None):
        if calls[0] == n:
            os._exit(137)
        calls[0] += 1
        return propose(self, img, key)

    SelectiveSearch.propose = propose_then_die
    precompute_proposals(SS, img_root, out, chunk_size=1, show_progress=False)


@pytest.mark.slow  # starts a process
def test_kill_and_resume_gives_the_uninterrupted_cache(tiny_demo_root, tmp_path):
    import multiprocessing
    img_root = osp.join(tiny_demo_root, 'train')
    reference = str(tmp_path / 'reference')
    precompute_proposals(SS, img_root, reference, chunk_size=1, show_progress=False)

    out = str(tmp_path / 'killed')
    run = multiprocessing.get_context('fork').Process(
        target=_die_during_image, args=(5, img_root, out))
    run.start()
    run.join(120)
    assert run.exitcode == 137
    partial = osp.join(out, '.partial')
    done = [f for f in os.listdir(partial) if f.endswith('.npz')]
    assert len(done) == 5  # the chunks of the images before the fatal one
    assert not osp.exists(osp.join(out, 'meta.json'))
    with pytest.raises(FileNotFoundError, match='resume'):
        ProposalCache(out)

    # Resume (in this process, no workers: results must not depend on that).
    cache = precompute_proposals(SS, img_root, out, chunk_size=1, show_progress=False)
    assert len(cache) == 12 and not osp.exists(partial)
    assert cache_files(out) == cache_files(reference)


def write_bad_images(root):
    """A folder with one good image and every kind of bad one."""
    os.makedirs(root)
    rng = np.random.default_rng(0)
    good = rng.integers(0, 80, (120, 160, 3), dtype=np.uint8)
    good[30:100, 40:130] = (20, 220, 240)
    ok, jpg = cv2.imencode('.jpg', good)
    files = {
        'good.jpg': jpg.tobytes(),
        # Random bytes (ending like a JPEG): not an image, whatever the name says.
        'corrupt.jpg': rng.integers(0, 256, 5000, dtype=np.uint8).tobytes() + b'\xff\xd9',
        'truncated.jpg': jpg.tobytes()[:len(jpg) // 2],
        'empty.png': b'',
        'text.png': b'not an image at all',
    }
    for name, data in files.items():
        with open(osp.join(root, name), 'wb') as f:
            f.write(data)
    cv2.imwrite(osp.join(root, 'one_pixel.png'), good[:1, :1])
    cv2.imwrite(osp.join(root, 'gray.png'), cv2.cvtColor(good, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(osp.join(root, 'rgba.png'), cv2.cvtColor(good, cv2.COLOR_BGR2BGRA))
    cv2.imwrite(osp.join(root, 'deep.png'), good.astype(np.uint16) * 257)
    huge = cv2.resize(good, (6000, 4500), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(osp.join(root, 'huge.jpg'), huge, [cv2.IMWRITE_JPEG_QUALITY, 50])


@pytest.mark.slow  # starts processes
def test_bad_images_are_skipped_or_fall_back_never_fatal(tmp_path, mm_log):
    root = str(tmp_path / 'imgs')
    write_bad_images(root)
    source = dict(type='SelectiveSearch', max_side=128,
                  filter=dict(min_size=32, aspect_range=(1 / 3, 3),
                              rel_scale_range=(0.3, 0.8),
                              fallbacks=[dict(aspect_range=(1 / 3, 3)),
                                         dict(min_size=32)]))
    cache = precompute_proposals(source, root, str(tmp_path / 'cache'), workers=2,
                                 chunk_size=4, show_progress=False)
    assert len(cache) == 10
    for name in ('corrupt.jpg', 'truncated.jpg', 'empty.png', 'text.png'):
        assert cache.get_status(name) == ProposalStatus.SKIPPED, name
        assert cache[name].shape == (0, 4)
        assert any(m.startswith(name) and 'skipped' in m for m in mm_log), name
    assert any(m.startswith('truncated.jpg: truncated JPEG') for m in mm_log)
    assert any(m.startswith('corrupt.jpg: not an image') for m in mm_log)
    assert cache.get_status('one_pixel.png') == ProposalStatus.FALLBACK
    assert cache['one_pixel.png'].tolist() == [[0, 0, 1, 1]]
    for name in ('good.jpg', 'gray.png', 'rgba.png', 'deep.png'):
        assert cache.get_status(name) == ProposalStatus.OK, name
        boxes = cache[name]
        assert len(boxes) and (boxes[:, 2] <= 160).all() and (boxes[:, 3] <= 120).all()
    assert cache.get_size('huge.jpg') == (4500, 6000)
    huge = cache['huge.jpg']
    assert len(huge) and huge[:, 2].max() > 3000 and (huge[:, 2] <= 6000).all()
    assert cache.meta['status_counts'] == dict(OK=5, FALLBACK=1, SKIPPED=4)


@pytest.mark.slow  # starts processes
def test_coco_listing_fingerprint_and_cli_refusal(tiny_demo_root, tmp_path, repo_root):
    ann = osp.join(tiny_demo_root, 'annotations', 'instances_val.json')
    root = str(tmp_path / 'val')
    shutil.copytree(osp.join(tiny_demo_root, 'val'), root)
    out = str(tmp_path / 'cache')
    cache = precompute_proposals(dict(type='GridBoxes', rows=2, cols=2), root, out,
                                 ann_file=ann, show_progress=False)
    assert cache.keys == [f'{i:06d}.jpg' for i in range(6)]
    assert cache.fingerprint == dataset_fingerprint(list_images(root, ann))
    load_cache_for(root, out, ann)
    # The dataset changes: the cache is refused, by the reader and by the tool.
    os.remove(osp.join(root, '000005.jpg'))
    with pytest.raises(CacheMismatchError, match='another dataset'):
        load_cache_for(root, out)
    result = subprocess.run(
        [sys.executable, osp.join(repo_root, 'tools', 'precompute_proposals.py'),
         root, out, '--source', 'grid', '--no-progress'],
        env=dict(os.environ, PYTHONPATH=repo_root), capture_output=True, text=True)
    assert result.returncode == 2
    assert 'another dataset' in result.stderr and '--overwrite' in result.stderr
