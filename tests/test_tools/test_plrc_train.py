"""The demo PLRC config through tools/train.py and tools/dist_train.sh (CPU)."""
import glob
import json
import math
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

from tests.conftest import SOCO_TINY_OPTIONS

pytestmark = pytest.mark.slow

CONFIG = 'configs/objcon/plrc_r18_demo.py'
QUEUE = 10
# 12 tiny images / batch 4 = 3 iterations an epoch; 64-px views; the teacher
# temperature warms up over 2 epochs: 0.04 in epoch 0, 0.07 from epoch 1
SMALL = ['view_size=64', f'queue_size={QUEUE}', 'teacher_warmup_epochs=2']


def _options(epochs):
    return [*SOCO_TINY_OPTIONS, *SMALL, f'train_cfg.max_epochs={epochs}',
            f'param_scheduler.0.T_max={epochs}', f'param_scheduler.0.end={epochs}']


def _env(root, **extra):
    return dict(os.environ, OBJCON_DEMO_ROOT=root, PYTHON=sys.executable,
                OMP_NUM_THREADS='2', **extra)


def _scalars(work):
    """Logged training scalars by iteration, over every run in the work dir."""
    rows = {}
    for path in sorted(glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'loss' in row:
                    rows[row['step']] = row
    return rows


def _config(tmp_path, repo_root, iteration, record):
    """The demo config with a SIGINT at the end of ``iteration`` and a hook that
    saves the queue and centre the run starts from."""
    config = tmp_path / f'plrc_signal_at_{iteration}.py'
    config.write_text(
        f'_base_ = {osp.join(repo_root, CONFIG)!r}\n'
        "custom_imports = dict(imports=['objcon', "
        "'tests.test_engine.raise_signal_hook', "
        "'tests.test_engine.record_buffers_hook'], allow_failed_imports=False)\n"
        "default_hooks = dict(signal=dict(type='RaiseSignalAtIter', "
        f"iteration={iteration}))\n"
        "custom_hooks = [dict(type='NonFiniteLossHook'), "
        "dict(type='InterruptCheckpointHook'), "
        "dict(type='RecordBuffersAtStart', names=['image_queue.features', "
        "'image_queue.ptr', 'distill_loss.centre'], "
        f"out={str(record)!r})]\n")
    return str(config)


def test_demo_trains_and_a_resume_restores_queue_centre_and_schedule(
        tiny_demo_root, repo_root, tmp_path):
    """Interrupted at iteration 2, resumed through the end of epoch 2 (6
    iterations). A short CPU run does not show the summed loss falling
    (docs/plrc.md: the image loss climbs to chance as the queue fills, the
    distillation loss with the teacher temperature); the falling point loss on
    a fixed batch is tests/test_models/test_plrc.py's."""
    env = _env(tiny_demo_root, PYTHONPATH=repo_root)
    work = str(tmp_path / 'cut')
    base = [sys.executable, 'tools/train.py', '--work-dir', work,
            '--cfg-options', *_options(2), 'default_hooks.checkpoint.interval=2']
    first = tmp_path / 'first.pth'
    proc = subprocess.run(
        base[:2] + [_config(tmp_path, repo_root, 2, first)] + base[2:],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 130, out[-3000:]
    ckpt = osp.join(work, 'interrupted_iter_2.pth')
    assert osp.isfile(ckpt), out[-3000:]

    resumed = tmp_path / 'resumed.pth'
    proc = subprocess.run(
        base[:2] + [_config(tmp_path, repo_root, -1, resumed)] + base[2:] +
        ['--resume'], cwd=repo_root, env=env, capture_output=True, text=True,
        timeout=900)
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

    rows = _scalars(work)
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


def test_two_process_gloo_pretraining(tiny_demo_root, repo_root, tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(_env(tiny_demo_root), PORT=str(port), OMP_NUM_THREADS='1')
    work = str(tmp_path / 'dist')
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', work,
         '--cfg-options', *_options(2), 'default_hooks.checkpoint.interval=2'],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'rank 1 of 2' in out
    # 12 images over 2 processes x 4 = 1 iteration per epoch
    assert sorted(_scalars(work)) == [1, 2]
    state = torch.load(osp.join(work, 'epoch_2.pth'),
                       weights_only=False)['state_dict']
    # both ranks' keys are queued: 2 iterations x 2 ranks x 4 images
    assert int(state['image_queue.ptr']) == (2 * 2 * 4) % QUEUE
