"""The demo PLRC config through tools/train.py and tools/dist_train.sh (CPU)."""
import math
import os.path as osp

import pytest
import torch

from benchmarks.short_runs import fall_from_peak
from tests.conftest import SOCO_TINY_OPTIONS
from tests.train_utils import (config_with_hooks, logged_scalars, run_dist_train,
                               run_train, short_run_epoch_means, train_env)

pytestmark = pytest.mark.slow

CONFIG = 'configs/objcon/plrc_r18_demo.py'
QUEUE = 10
# 12 tiny images / batch 4 = 3 iterations an epoch; 64-px views; the teacher
# temperature warms up over 2 epochs: 0.04 in epoch 0, 0.07 from epoch 1
SMALL = ['view_size=64', f'queue_size={QUEUE}', 'teacher_warmup_epochs=2']


def _options(epochs):
    return [*SOCO_TINY_OPTIONS, *SMALL, f'train_cfg.max_epochs={epochs}',
            f'param_scheduler.0.T_max={epochs}', f'param_scheduler.0.end={epochs}']


def _config(tmp_path, iteration, record):
    """The demo config with a SIGINT at the end of ``iteration`` and a hook that
    saves the queue and centre the run starts from."""
    return config_with_hooks(
        tmp_path, CONFIG, iteration,
        custom_hooks=[dict(type='NonFiniteLossHook'),
                      dict(type='InterruptCheckpointHook'),
                      dict(type='RecordBuffersAtStart',
                           names=['image_queue.features', 'image_queue.ptr',
                                  'distill_loss.centre'],
                           out=str(record))],
        imports=['tests.test_engine.record_buffers_hook'])


def test_demo_trains_and_a_resume_restores_queue_centre_and_schedule(
        tiny_demo_root, repo_root, tmp_path):
    """Interrupted at iteration 2, resumed through the end of epoch 2 (6
    iterations)."""
    env = train_env(tiny_demo_root)
    work = str(tmp_path / 'cut')
    options = [*_options(2), 'default_hooks.checkpoint.interval=2']
    first = tmp_path / 'first.pth'
    proc = run_train(_config(tmp_path, 2, first), work, options, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 130, out[-3000:]
    ckpt = osp.join(work, 'interrupted_iter_2.pth')
    assert osp.isfile(ckpt), out[-3000:]

    resumed = tmp_path / 'resumed.pth'
    proc = run_train(_config(tmp_path, -1, resumed), work, options, ['--resume'],
                     env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'resumed epoch: 0, iter: 2' in out
    # the resumed run starts from the queue and centre the interrupt saved,
    # not from the fresh state of a new run
    saved = torch.load(ckpt, weights_only=False)['state_dict']
    start = torch.load(resumed, weights_only=False)
    fresh = torch.load(first, weights_only=False)
    assert int(start['image_queue.ptr']) == 2 * 4 % QUEUE
    for name, value in start.items():
        assert torch.equal(value, saved[name]), name
        assert not torch.equal(value, fresh[name]), name

    rows = logged_scalars(work)
    assert sorted(rows) == list(range(1, 7))  # no iteration repeated or lost
    for row in rows.values():
        for name in ('loss_image', 'loss_point', 'loss_distill'):
            assert math.isfinite(row[name]), (name, row)
        assert row['point_images'] >= 1 and row['distill_pairs'] > 0
        assert row['momentum'] == pytest.approx(0.999)
    # the teacher temperature continues per epoch: 0.04 in epoch 0, then 0.07
    assert [rows[i]['teacher_temperature'] for i in range(1, 7)] == \
        pytest.approx([0.04] * 3 + [0.07] * 3)
    # lr 0.03 (not scaled in the demo), cosine per iteration
    assert rows[1]['lr'] == pytest.approx(0.03)
    assert rows[6]['lr'] < rows[3]['lr'] < rows[1]['lr']
    state = torch.load(osp.join(work, 'epoch_2.pth'),
                       weights_only=False)['state_dict']
    assert int(state['image_queue.ptr']) == 6 * 4 % QUEUE


def test_demo_loss_falls_over_a_short_run(tiny_demo_root, tmp_path):
    """90 iterations of the short run that learns (benchmarks/short_runs.py):
    the summed loss falls from its peak (measured: by 11 %; lr 0: 2 %)."""
    means = short_run_epoch_means('PLRC', str(tmp_path / 'work'),
                                  train_env(tiny_demo_root))
    assert fall_from_peak(means) > 0.07, means


def test_two_process_gloo_pretraining(tiny_demo_root, repo_root, tmp_path):
    work = str(tmp_path / 'dist')
    proc = run_dist_train(
        CONFIG, work, [*_options(2), 'default_hooks.checkpoint.interval=2'],
        train_env(tiny_demo_root, threads=1))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'rank 1 of 2' in out
    # 12 images over 2 processes x 4 = 1 iteration per epoch
    assert sorted(logged_scalars(work)) == [1, 2]
    state = torch.load(osp.join(work, 'epoch_2.pth'),
                       weights_only=False)['state_dict']
    # both ranks' keys are queued: 2 iterations x 2 ranks x 4 images
    assert int(state['image_queue.ptr']) == (2 * 2 * 4) % QUEUE
