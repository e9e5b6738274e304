"""The demo DetCo config through tools/train.py on the tiny scenes (CPU): a kill
then ``--resume`` restores the queues and the EMA target; a short run's loss
falls."""
import os.path as osp

import pytest
import torch

from benchmarks.short_runs import fall_from_peak
from tests.conftest import SOCO_TINY_OPTIONS
from tests.train_utils import (config_with_hooks, logged_scalars, run_train,
                               short_run_epoch_means, train_env)

pytestmark = pytest.mark.slow

CONFIG = 'configs/objcon/detco_r18_demo.py'
QUEUE = 10  # shorter than the 12 tiny scenes
BATCH = 4  # SOCO_TINY_OPTIONS: 12 images / 4 = 3 iterations an epoch
TINY = [*SOCO_TINY_OPTIONS, 'view_size=64', 'patch_size=18', f'queue_size={QUEUE}']


def _train(work, epochs, config, env, *flags):
    return run_train(
        config, work,
        [*TINY, f'train_cfg.max_epochs={epochs}', f'param_scheduler.0.T_max={epochs}',
         f'param_scheduler.0.end={epochs}',
         f'default_hooks.checkpoint.interval={epochs}'],
        flags, env, timeout=600)


def _state(path):
    return torch.load(path, weights_only=False, map_location='cpu')['state_dict']


def test_kill_then_resume_restores_queues_and_ema(tiny_demo_root, repo_root,
                                                  tmp_path):
    # one thread: on a loaded 2-core machine two OpenMP threads per process
    # slow the tiny convolutions down by an order of magnitude
    env = train_env(tiny_demo_root, threads=1)
    work = str(tmp_path / 'work')
    # one epoch of 3 iterations, interrupted after iteration 2
    proc = _train(work, 1, config_with_hooks(tmp_path, CONFIG, signal_at=2), env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 130, out[-3000:]
    cut = _state(osp.join(work, 'interrupted_iter_2.pth'))
    assert int(cut['global_queues.3.ptr']) == 2 * BATCH % QUEUE == 8
    assert int(cut['target_net.steps']) == 2

    proc = _train(work, 1, CONFIG, env, '--resume')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'resumed epoch: 0, iter: 2' in out
    assert sorted(logged_scalars(work)) == [1, 2, 3]
    end = _state(osp.join(work, 'epoch_1.pth'))
    # the EMA went on counting from the checkpoint (a fresh target would have
    # copied the online network again and counted 1)
    assert int(end['target_net.steps']) == 3
    for kind in ('global', 'local'):
        for stage in range(4):
            prefix = f'{kind}_queues.{stage}.'
            # iteration 3 wrote rows 8, 9, 0, 1 after the pointer the
            # checkpoint kept; rows 2..7 are still those of iterations 1 and 2
            assert int(end[prefix + 'ptr']) == 3 * BATCH % QUEUE == 2
            kept, new = [2, 3, 4, 5, 6, 7], [8, 9, 0, 1]
            torch.testing.assert_close(end[prefix + 'features'][kept],
                                       cut[prefix + 'features'][kept])
            assert not torch.isclose(end[prefix + 'features'][new],
                                     cut[prefix + 'features'][new]).all(1).any()


def test_demo_loss_falls_over_a_short_run(tiny_demo_root, tmp_path):
    """90 iterations of the short run that learns (benchmarks/short_runs.py):
    the summed loss of the 12 terms falls from its peak (measured: by 11 %;
    lr 0: 2 %)."""
    means = short_run_epoch_means('DetCo', str(tmp_path / 'work'),
                                  train_env(tiny_demo_root))
    assert fall_from_peak(means) > 0.07, means
