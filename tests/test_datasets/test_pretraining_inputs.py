"""A real pretraining run (tools/train.py, the demo SoCo config) on a folder with
bad files and link loops, and on a cache of other images."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from objcon.proposals import PRESETS, precompute_proposals
from tests.conftest import SOCO_TINY_OPTIONS, soco_schedule_options
from tests.test_proposals.bad_files import (bad_and_tricky_files, write_files,
                                            write_same_names_and_sizes)

pytestmark = pytest.mark.slow

CONFIG = 'configs/objcon/soco_r18_fpn_demo.py'


def train(data_root, work, repo_root, epochs=2):
    env = dict(os.environ, OBJCON_DEMO_ROOT=data_root, PYTHONPATH=repo_root)
    return subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir', work,
         '--cfg-options', *SOCO_TINY_OPTIONS, *soco_schedule_options(epochs),
         f'default_hooks.checkpoint.interval={epochs}'],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)


def test_bad_files_and_link_loops_do_not_stop_pretraining(tiny_demo_root, repo_root,
                                                          tmp_path):
    data_root = str(tmp_path / 'data')
    train_dir = osp.join(data_root, 'train')
    os.makedirs(train_dir)
    for name in ('000000.jpg', '000001.jpg'):
        shutil.copy(osp.join(tiny_demo_root, 'train', name), train_dir)
    write_files(train_dir, bad_and_tricky_files())  # 3 unusable, 2 valid
    os.symlink('self.jpg', osp.join(train_dir, 'self.jpg'))
    os.symlink('.', osp.join(train_dir, 'up'))
    cache = precompute_proposals(PRESETS['soco'], train_dir,
                                 osp.join(data_root, 'proposals', 'train_soco'),
                                 show_progress=False)
    assert len(cache) == 7
    work = str(tmp_path / 'work')
    proc = train(data_root, work, repo_root)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'left out 3 of the 7 images' in out
    assert 'leads to the folder already listed' in out
    # 4 usable images, batch 4: each iteration uses the PNG named .jpg and the
    # JPEG with trailing bytes
    assert 'Epoch(train) [2][1/1]' in out
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))


def test_a_cache_of_other_images_stops_before_the_first_iteration(repo_root,
                                                                  tmp_path):
    data_root = str(tmp_path / 'data')
    train_dir = osp.join(data_root, 'train')
    other = str(tmp_path / 'other')
    write_same_names_and_sizes(train_dir, other, 8)
    precompute_proposals(PRESETS['soco'], other,
                         osp.join(data_root, 'proposals', 'train_soco'),
                         show_progress=False)
    proc = train(data_root, str(tmp_path / 'work'), repo_root)
    out = proc.stdout + proc.stderr
    # one clear line, no traceback, before any iteration
    assert proc.returncode == 2
    assert 'was not made from the images in' in out and 'differ in content' in out
    assert 'error: ' in proc.stderr and 'Traceback' not in out
    assert 'Epoch(train)' not in out
