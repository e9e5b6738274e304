"""The heat-map demo config trains through tools/train.py (no proposal cache)."""
import glob
import json
import os.path as osp

import pytest

from tests.conftest import SOCO_TINY_OPTIONS, soco_schedule_options
from tests.train_utils import run_train, train_env

CONFIG = 'configs/objcon/soco-heatmap_r18_fpn_demo.py'


@pytest.mark.slow
def test_heatmap_demo_config_trains(tiny_demo_root, tmp_path):
    work = str(tmp_path / 'work')
    # 12 images / 6 = 2 iterations x 2 epochs; grid warm-up for the first one.
    proc = run_train(
        CONFIG, work,
        [*SOCO_TINY_OPTIONS, *soco_schedule_options(2),
         'train_dataloader.batch_size=6', 'model.proposal_generator.warmup_iters=1'],
        env=train_env(tiny_demo_root))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    # No proposal cache is read (another test may have made one in this root).
    assert 'LoadProposals' not in open(osp.join(work, osp.basename(CONFIG))).read()
    rows = []  # every logged row: a step logged twice would show
    for path in glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            rows += [json.loads(line) for line in f if '"loss"' in line]
    rows.sort(key=lambda r: r['step'])
    assert [r['step'] for r in rows] == [1, 2, 3, 4]
    assert [r['proposal_warmup'] for r in rows] == [1., 0., 0., 0.]
    for r in rows:
        assert abs(r['loss']) < 1e3 and r['loss'] == r['loss']  # finite
        assert r['matched_pairs'] >= 6 * 2  # batch 6, 2 pairs, >= 1 match each
