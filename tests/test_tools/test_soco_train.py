"""The demo SoCo config through tools/train.py and tools/dist_train.sh (CPU)."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

from tests.conftest import SOCO_TINY_OPTIONS, soco_schedule_options

pytestmark = pytest.mark.slow

CONFIG = 'configs/objcon/soco_r18_fpn_demo.py'


def _env(root):
    return dict(os.environ, OBJCON_DEMO_ROOT=root, PYTHON=sys.executable,
                OMP_NUM_THREADS='2')


def _train_cmd(work, epochs, *extra, config=CONFIG):
    return [sys.executable, 'tools/train.py', config, '--work-dir', work,
            '--cfg-options', *SOCO_TINY_OPTIONS, *soco_schedule_options(epochs),
            'default_hooks.checkpoint.interval=1', *extra]


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


def test_loss_falls_and_health_is_logged(tiny_demo_root, tiny_demo_proposals,
                                         repo_root, tmp_path):
    work = str(tmp_path / 'work')
    proc = subprocess.run(_train_cmd(work, 10), cwd=repo_root,
                          env=_env(tiny_demo_root), capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    rows = _scalars(work)
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


def _signal_config(tmp_path, repo_root, iteration):
    """The demo config with a hook that sends the process SIGINT at the end of
    ``iteration``: an interrupt at a chosen iteration, no race."""
    config = tmp_path / f'signal_at_{iteration}.py'
    config.write_text(
        f'_base_ = {osp.join(repo_root, CONFIG)!r}\n'
        "custom_imports = dict(imports=['objcon', "
        "'tests.test_engine.raise_signal_hook'], allow_failed_imports=False)\n"
        "default_hooks = dict(signal=dict(type='RaiseSignalAtIter', "
        f"iteration={iteration}))\n")
    return str(config)


def test_interrupt_then_resume_continues_with_identical_lr_and_momentum(
        soco_demo_checkpoint, tiny_demo_root, tiny_demo_proposals, repo_root,
        tmp_path):
    # the uninterrupted reference: the fixture's 2 epochs of 3 iterations
    full = osp.dirname(soco_demo_checkpoint)
    env = dict(_env(tiny_demo_root), PYTHONPATH=repo_root)
    cut = str(tmp_path / 'cut')
    # interrupted in mid-epoch 1
    proc = subprocess.run(
        _train_cmd(cut, 2, config=_signal_config(tmp_path, repo_root, 2)) +
        ['--resume-or-start'], cwd=repo_root, env=env, capture_output=True,
        text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 130, out[-3000:]
    assert 'no checkpoint in' in out and 'starting from scratch' in out
    ckpt = osp.join(cut, 'interrupted_iter_2.pth')
    assert f'SIGINT received: stopped after iteration 2 and saved {ckpt}' in out
    assert sorted(_scalars(cut)) == [1, 2]

    # resumed, through the end of epoch 1, then interrupted in mid-epoch 2
    proc = subprocess.run(
        _train_cmd(cut, 2, config=_signal_config(tmp_path, repo_root, 4)) +
        ['--resume'], cwd=repo_root, env=env, capture_output=True, text=True,
        timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 130, out[-3000:]
    assert f'Load checkpoint from {ckpt}' in out
    assert 'resumed epoch: 0, iter: 2' in out
    assert 'epoch 1 continues after its first 2 batches' in out
    assert osp.isfile(osp.join(cut, 'epoch_1.pth'))
    with open(osp.join(cut, 'last_checkpoint')) as f:
        assert f.read() == osp.join(cut, 'interrupted_iter_4.pth')
    a, b = _scalars(full), _scalars(cut)
    assert sorted(b) == [1, 2, 3, 4]  # no iteration repeated or lost
    for it in (3, 4):  # the iterations after the resume
        assert b[it]['lr'] == pytest.approx(a[it]['lr'], rel=1e-9), it
        assert b[it]['momentum'] == pytest.approx(a[it]['momentum'], rel=1e-9)


def test_two_process_gloo_pretraining(tiny_demo_root, tiny_demo_proposals,
                                      repo_root, tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(_env(tiny_demo_root), PORT=str(port), OMP_NUM_THREADS='1')
    work = str(tmp_path / 'dist')
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', work,
         '--cfg-options', *SOCO_TINY_OPTIONS, *soco_schedule_options(2),
         'default_hooks.checkpoint.interval=2'],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'rank 1 of 2' in out
    # 12 images over 2 processes x 4 = 1 iteration per epoch
    assert sorted(_scalars(work)) == [1, 2]
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
