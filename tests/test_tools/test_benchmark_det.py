"""Transfer benchmark tools: mmpretrain baselines -> converter, and
tools/benchmark_det.py (convert -> fine-tune -> test -> results row)."""
import math
import os
import os.path as osp
import subprocess
import sys

import pytest

from objcon.transfer import (CheckpointConversionError,
                             convert_pretrain_checkpoint, verify_against_detector)

pytestmark = pytest.mark.slow

DEMO_DETECTOR = 'configs/benchmarks/mask-rcnn_r18_fpn_demo.py'
TINY_LOADER = ['train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False']


def test_mmpretrain_byol_backbone_transfers(tiny_demo_root, tmp_path, repo_root):
    env = dict(os.environ, OBJCON_DEMO_ROOT=tiny_demo_root)
    work = str(tmp_path / 'byol')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', 'configs/baselines/byol_r18_demo.py',
         '--work-dir', work, '--epochs', '1', '--cfg-options', *TINY_LOADER],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    ckpt = osp.join(work, 'epoch_1.pth')
    state, summary = convert_pretrain_checkpoint(ckpt, 'backbone')
    assert summary['algorithm'] == 'mmpretrain.BYOL'
    assert all(k.startswith('backbone.') for k in state)
    report = verify_against_detector(state, osp.join(repo_root, DEMO_DETECTOR))
    assert report['missing'] == [] and report['detector_keys'] == len(state)
    # its neck is BYOL's projection MLP: never mapped onto an FPN
    with pytest.raises(CheckpointConversionError, match='image-level'):
        convert_pretrain_checkpoint(ckpt, 'neck')


def test_benchmark_det_appends_a_row_with_finite_ap(soco_demo_checkpoint,
                                                    tiny_demo_root, tmp_path,
                                                    repo_root):
    results = tmp_path / 'results.md'
    proc = subprocess.run(
        ['bash', 'tools/benchmark_det.sh', soco_demo_checkpoint, DEMO_DETECTOR,
         '1', '--iters', '2', '--data', tiny_demo_root,
         '--work-dir', str(tmp_path / 'bench'), '--results', str(results),
         '--cfg-options', 'train_dataloader.batch_size=2'],
        cwd=repo_root, env=dict(os.environ, PYTHON=sys.executable),
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    lines = results.read_text().splitlines()
    assert len(lines) == 3  # header, rule, one row
    header = [c.strip() for c in lines[0].strip('|').split('|')]
    row = dict(zip(header, (c.strip() for c in lines[2].strip('|').split('|'))))
    assert row['checkpoint'] == soco_demo_checkpoint and row['part'] == 'neck'
    for col in ('APbb', 'APbb50', 'APmk'):
        assert math.isfinite(float(row[col])) and 0 <= float(row[col]) <= 1
    assert osp.isfile(tmp_path / 'bench' / 'converted.pth')
    # evaluated once, by the test step: no validation pass at the end of training
    log = (tmp_path / 'bench' / 'finetune.log').read_text()
    assert 'Saving checkpoint at 2 iterations' in log and 'Iter(val)' not in log


def test_benchmark_det_refuses_a_missing_checkpoint(tmp_path, repo_root):
    proc = subprocess.run(
        [sys.executable, 'tools/benchmark_det.py', str(tmp_path / 'nope.pth'),
         DEMO_DETECTOR], cwd=repo_root, capture_output=True, text=True)
    assert proc.returncode == 2 and 'no such checkpoint' in proc.stderr
