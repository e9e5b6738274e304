"""The demo CCOP config through tools/train.py (CPU)."""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.conftest import SOCO_TINY_OPTIONS

pytestmark = pytest.mark.slow

CONFIG = 'configs/objcon/ccop_r18_fpn_demo.py'
EPOCHS = 4  # 12 images / 4 = 3 iterations an epoch
QUEUE = 20


@pytest.fixture(scope='module')
def ccop_proposals(tiny_demo_root):
    """CCOP's selective-search cache of the tiny train split, where the demo
    config looks for it (``<root>/proposals/train_ccop``)."""
    from objcon.proposals import PRESETS, precompute_proposals
    cache = osp.join(tiny_demo_root, 'proposals', 'train_ccop')
    if not osp.isdir(cache):
        precompute_proposals(PRESETS['ccop'], osp.join(tiny_demo_root, 'train'),
                             cache, show_progress=False)
    return cache


def _scalars(work):
    rows = {}
    for path in glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'loss' in row:
                    rows[row['step']] = row
    return rows


def test_demo_trains_logs_curriculum_and_checkpoints_queues(
        tiny_demo_root, ccop_proposals, repo_root, tmp_path):
    import torch
    work = str(tmp_path / 'work')
    cmd = [sys.executable, 'tools/train.py', CONFIG, '--work-dir', work,
           '--cfg-options', *SOCO_TINY_OPTIONS, f'train_cfg.max_epochs={EPOCHS}',
           f'param_scheduler.1.T_max={EPOCHS - 1}', f'param_scheduler.1.end={EPOCHS}',
           f'default_hooks.checkpoint.interval={EPOCHS}', 'view_size=96',
           f'queue_size={QUEUE}']
    env = dict(os.environ, OBJCON_DEMO_ROOT=tiny_demo_root, OMP_NUM_THREADS='2')
    proc = subprocess.run(cmd, cwd=repo_root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    rows = _scalars(work)
    last = 3 * EPOCHS
    assert sorted(rows) == list(range(1, last + 1))
    for row in rows.values():
        for name in ('loss_image', 'loss_object', 'loss_intra'):
            assert math.isfinite(row[name]), (name, row)
    # the curriculum moves with the iteration (logged before the step's update)
    assert rows[1]['iou_floor'] == pytest.approx(0.8)
    assert rows[last]['iou_floor'] == pytest.approx(0.8 - 0.4 * (last - 1) / last)
    assert rows[last]['shift'] == pytest.approx(0.15 + 0.45 * (last - 1) / last)
    assert rows[1]['momentum'] == pytest.approx(0.999)
    assert all(r['num_objects'] >= 4 for r in rows.values())
    # the queues are in the checkpoint, at the position the run left them
    state = torch.load(osp.join(work, f'epoch_{EPOCHS}.pth'),
                       weights_only=False)['state_dict']
    assert int(state['image_queue.ptr']) == (last * 4) % QUEUE
    objects = sum(int(r['num_objects']) for r in rows.values())
    assert int(state['roi_queue.ptr']) == objects % QUEUE
