"""set_train_length: --epochs / --iters of tools/train.py."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from objcon.utils import drop_empty_schedulers, set_train_length


def _load(repo_root, path):
    return Config.fromfile(f'{repo_root}/{path}')


def test_soco_demo_epochs_keep_warmup_and_stretch_cosine(repo_root):
    cfg = set_train_length(_load(repo_root, 'configs/objcon/soco_r18_fpn_demo.py'),
                           epochs=4)
    warm, cos = cfg.param_scheduler
    assert cfg.train_cfg.max_epochs == 4
    assert (warm.begin, warm.end) == (0, 1)
    assert (cos.begin, cos.end, cos.T_max) == (1, 4, 3)
    assert cfg.default_hooks.checkpoint.interval == 4


def test_detector_iters_scale_milestones(repo_root):
    cfg = set_train_length(
        _load(repo_root, 'configs/benchmarks/mask-rcnn_r18_fpn_demo.py'), iters=150)
    warm, steps = cfg.param_scheduler
    assert cfg.train_cfg.max_iters == 150 and cfg.train_cfg.val_interval == 150
    assert warm.end == 50  # warm-up keeps its length
    assert steps.end == 150 and steps.milestones == [112, 135]


def test_one_epoch_halves_a_warmup_that_does_not_fit(repo_root):
    cfg = set_train_length(_load(repo_root, 'configs/baselines/byol_r18_demo.py'),
                           epochs=1)
    warm, cos = cfg.param_scheduler
    assert warm.end == 0.5 and cos.begin == 0.5 and cos.end == 1


def test_refuses_the_wrong_kind_of_length(repo_root):
    cfg = _load(repo_root, 'configs/objcon/soco_r18_fpn_demo.py')
    with pytest.raises(ValueError, match='max_iters'):
        set_train_length(cfg, iters=10)
    with pytest.raises(ValueError, match='exactly one'):
        set_train_length(cfg)
    with pytest.raises(ValueError, match='>= 1'):
        set_train_length(cfg, epochs=0)


def test_iteration_warmup_too_long_for_one_step_is_left_out(repo_root):
    cfg = set_train_length(
        _load(repo_root, 'configs/benchmarks/mask-rcnn_r18_fpn_demo.py'), iters=1)
    assert [s.type for s in cfg.param_scheduler] == ['MultiStepLR']
    assert (cfg.param_scheduler[0].begin, cfg.param_scheduler[0].end) == (0, 1)


def test_drop_empty_schedulers_keeps_what_covers_an_iteration(repo_root):
    cfg = set_train_length(_load(repo_root, 'configs/objcon/soco_r18_fpn_demo.py'),
                           epochs=1)  # warm-up: half an epoch
    assert [s.type for s in drop_empty_schedulers(cfg.param_scheduler, 1)] == [
        'CosineAnnealingLR']
    assert drop_empty_schedulers(cfg.param_scheduler, 2) == cfg.param_scheduler
    by_optimizer = drop_empty_schedulers(dict(a=cfg.param_scheduler), 1)
    assert [s.type for s in by_optimizer['a']] == ['CosineAnnealingLR']
    # iteration-based schedulers have no epoch length to fall short of
    iters = [dict(type='LinearLR', by_epoch=False, begin=0, end=1)]
    assert drop_empty_schedulers(iters, 1) == iters


@pytest.mark.slow
def test_train_one_epoch_of_one_iteration(tiny_demo_root, repo_root, tmp_path):
    # 4 images in one batch: one iteration; the half-epoch warm-up covers none
    work = str(tmp_path / 'byol')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', 'configs/baselines/byol_r18_demo.py',
         '--work-dir', work, '--epochs', '1', '--cfg-options',
         'train_dataloader.dataset.indices=4', 'train_dataloader.batch_size=4',
         'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False'],
        cwd=repo_root, env=dict(os.environ, OBJCON_DEMO_ROOT=tiny_demo_root),
        capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'LinearLR from epoch 0 to 0.5 covers no iteration' in out
    assert 'Epoch(train) [1][1/1]' in out
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


def test_iteration_warmup_of_an_epoch_run_keeps_its_length(repo_root):
    cfg = set_train_length(_load(
        repo_root, 'configs/benchmarks/mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco.py'),
        epochs=6)
    warm, steps = cfg.param_scheduler
    assert (warm.by_epoch, warm.begin, warm.end) == (False, 0, 500)
    assert (steps.begin, steps.end, steps.milestones) == (0, 6, [4, 6])
