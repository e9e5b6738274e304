"""The demo SoCo config through tools/train.py and tools/dist_train.sh (CPU)."""
import os.path as osp

import pytest

from tests.conftest import SOCO_TINY_OPTIONS, soco_schedule_options
from tests.train_utils import (config_with_hooks, logged_scalars, run_dist_train,
                               run_train, train_env)

pytestmark = pytest.mark.slow

CONFIG = 'configs/objcon/soco_r18_fpn_demo.py'


def _options(epochs):
    return [*SOCO_TINY_OPTIONS, *soco_schedule_options(epochs),
            'default_hooks.checkpoint.interval=1']


def test_loss_falls_and_health_is_logged(tiny_demo_root, tiny_demo_proposals,
                                         tmp_path):
    work = str(tmp_path / 'work')
    # one checkpoint, at the end: this test reads only the log; 96- and 48-px
    # views (the demo's 128 and 64 take twice as long)
    proc = run_train(CONFIG, work, [*SOCO_TINY_OPTIONS, *soco_schedule_options(10),
                                    'view_size=96', 'small_view_size=48',
                                    'default_hooks.checkpoint.interval=10'],
                     env=train_env(tiny_demo_root))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    rows = logged_scalars(work)
    assert sorted(rows) == list(range(1, 31))  # 12 images / 4 = 3 it x 10 epochs
    losses = [rows[i]['loss'] for i in sorted(rows)]
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 0.1, losses
    # health: momentum follows the cosine schedule up to 1, boxes are matched
    assert rows[1]['momentum'] == pytest.approx(0.99, abs=1e-4)
    assert rows[30]['momentum'] > rows[15]['momentum'] > rows[1]['momentum']
    assert all(r['matched_pairs'] >= 4 * 2 for r in rows.values())
    # warmup: lr rises over the first epoch, then the cosine decays it
    assert rows[1]['lr'] < rows[3]['lr'] and rows[30]['lr'] < rows[4]['lr']


def test_interrupt_then_resume_continues_with_identical_lr_and_momentum(
        soco_demo_checkpoint, tiny_demo_root, tiny_demo_proposals, tmp_path):
    # the uninterrupted reference: the fixture's 2 epochs of 3 iterations
    full = osp.dirname(soco_demo_checkpoint)
    env = train_env(tiny_demo_root)
    cut = str(tmp_path / 'cut')
    # interrupted in mid-epoch 1
    proc = run_train(config_with_hooks(tmp_path, CONFIG, signal_at=2), cut,
                     _options(2), ['--resume-or-start'], env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 130, out[-3000:]
    assert 'no checkpoint in' in out and 'starting from scratch' in out
    ckpt = osp.join(cut, 'interrupted_iter_2.pth')
    assert f'SIGINT received: stopped after iteration 2 and saved {ckpt}' in out
    assert sorted(logged_scalars(cut)) == [1, 2]

    # resumed, through the end of epoch 1, then interrupted in mid-epoch 2
    proc = run_train(config_with_hooks(tmp_path, CONFIG, signal_at=4), cut,
                     _options(2), ['--resume'], env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 130, out[-3000:]
    assert f'Load checkpoint from {ckpt}' in out
    assert 'resumed epoch: 0, iter: 2' in out
    assert 'epoch 1 continues after its first 2 batches' in out
    assert osp.isfile(osp.join(cut, 'epoch_1.pth'))
    with open(osp.join(cut, 'last_checkpoint')) as f:
        assert f.read() == osp.join(cut, 'interrupted_iter_4.pth')
    a, b = logged_scalars(full), logged_scalars(cut)
    assert sorted(b) == [1, 2, 3, 4]  # no iteration repeated or lost
    for it in (3, 4):  # the iterations after the resume
        assert b[it]['lr'] == pytest.approx(a[it]['lr'], rel=1e-9), it
        assert b[it]['momentum'] == pytest.approx(a[it]['momentum'], rel=1e-9)


def test_two_process_gloo_pretraining(tiny_demo_root, tiny_demo_proposals,
                                      tmp_path):
    work = str(tmp_path / 'dist')
    proc = run_dist_train(
        CONFIG, work,
        [*SOCO_TINY_OPTIONS, *soco_schedule_options(2),
         'default_hooks.checkpoint.interval=2'],
        train_env(tiny_demo_root, threads=1))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'rank 1 of 2' in out
    # 12 images over 2 processes x 4 = 1 iteration per epoch
    assert sorted(logged_scalars(work)) == [1, 2]
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
