"""tools/dist_train.sh with two CPU processes (gloo) and tools/test.py after it."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.train_utils import free_port

pytestmark = pytest.mark.slow

CONFIG = 'configs/benchmarks/mask-rcnn_r18_fpn_demo.py'
SHORT = [
    'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
    'default_hooks.checkpoint.interval=4', 'default_hooks.logger.interval=1',
    'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2',
    'param_scheduler.0.end=2',
    # an untrained model scores below mmdet's 0.05: keep its boxes to evaluate
    'model.test_cfg.rcnn.score_thr=0.0'
]


def _env(tiny_demo_root):
    env = dict(os.environ, OBJCON_DEMO_ROOT=tiny_demo_root,
               PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1')
    env.pop('CUDA_VISIBLE_DEVICES', None)
    return env


def _config_recording_exit(tmp_path, repo_root, out_dir):
    config = tmp_path / 'record_exit.py'
    config.write_text(
        f'_base_ = {osp.join(repo_root, CONFIG)!r}\n'
        "custom_imports = dict(imports=['objcon', "
        "'tests.test_engine.exit_state_hook'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='objcon.NonFiniteLossHook'), "
        "dict(type='objcon.ProgressBarHook'), dict(type='RecordExitState', "
        f"out_dir={str(out_dir)!r})]\n")
    return str(config)


def test_two_process_cpu_training_then_test(tiny_demo_root, repo_root, tmp_path):
    work = str(tmp_path / 'work')
    exits = tmp_path / 'exits'
    exits.mkdir()
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh',
         _config_recording_exit(tmp_path, repo_root, exits), '2',
         '--work-dir', work, '--metrics-json', str(tmp_path / 'val.json'),
         '--cfg-options', *SHORT],
        cwd=repo_root, env=_env(tiny_demo_root), capture_output=True, text=True,
        timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'initialised a gloo process group (rank 0 of 2)' in out
    assert 'initialised a gloo process group (rank 1 of 2)' in out
    log = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert "dist_cfg: {'backend': 'gloo'}" in log
    assert 'Iter(train) [4/4]' in log
    assert 'coco/bbox_mAP' in log and 'coco/segm_mAP' in log
    ckpt = osp.join(work, 'iter_4.pth')
    assert osp.isfile(ckpt)
    # Every rank waits for the others and closes its group before it exits: a
    # rank leaving with the group open while rank 0 still saves can abort in
    # the gloo teardown (SIGABRT) and fail a finished run.
    state = [json.load(open(exits / f'rank_{r}.json')) for r in (0, 1)]
    assert not state[0]['group_open'] and not state[1]['group_open']
    assert abs(state[1]['time'] - state[0]['time']) < 1.5, state

    # The trained checkpoint loads in a fresh process (torch weights_only) and
    # evaluates with mmdet's CocoMetric.
    test = subprocess.run(
        [sys.executable, 'tools/test.py', CONFIG, ckpt, '--work-dir',
         str(tmp_path / 'test'), '--metrics-json', str(tmp_path / 'test.json'),
         '--cfg-options', 'test_dataloader.batch_size=2',
         'model.test_cfg.rcnn.score_thr=0.0'],
        cwd=repo_root, env=_env(tiny_demo_root), capture_output=True, text=True,
        timeout=600)
    assert test.returncode == 0, (test.stdout + test.stderr)[-4000:]
    assert "'coco/bbox_mAP'" in test.stdout and "'coco/segm_mAP'" in test.stdout
    # the training's last validation (train.py --metrics-json, 2 ranks) gives
    # the test tool's numbers for the final checkpoint (objcon-bench uses it)
    val = json.load(open(tmp_path / 'val.json'))
    test_metrics = json.load(open(tmp_path / 'test.json'))
    assert set(val) == set(test_metrics)
    assert val == pytest.approx(test_metrics, abs=1e-4)


def test_metrics_json_without_a_validation_is_an_error(tiny_demo_root, repo_root,
                                                       tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir',
         str(tmp_path / 'w'), '--metrics-json', str(tmp_path / 'm.json'),
         '--cfg-options', 'train_cfg.max_iters=1', 'train_cfg.val_begin=2',
         'train_dataloader.batch_size=1', 'image_size=(64,64)',
         'param_scheduler.0.end=1'],
        cwd=repo_root, env=_env(tiny_demo_root), capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 2, (proc.stdout + proc.stderr)[-3000:]
    assert 'error: --metrics-json: no validation ran' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'm.json').exists()
