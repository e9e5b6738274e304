"""set_train_length: --epochs / --iters of tools/train.py."""
import pytest
from mmengine.config import Config

from objcon.utils import set_train_length


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
