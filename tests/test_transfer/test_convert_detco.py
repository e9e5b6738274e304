"""tools/convert_to_mmdet.py on a DetCo checkpoint: the online backbone (no FPN)
into the demo Mask R-CNN.

The checkpoint is written in the Runner's format from the demo DetCo model with
every tensor (online and EMA target) random, so a value can only arrive in the
detector from the online tensor it was converted from.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from objcon.transfer import (CheckpointConversionError,
                             convert_pretrain_checkpoint, verify_against_detector)
from objcon.utils import register_all_modules
from tests.conftest import REPO_ROOT
from tests.test_transfer.random_checkpoint import save_random_checkpoint

DETCO_DEMO = 'configs/objcon/detco_r18_demo.py'
DET_DEMO = 'configs/benchmarks/mask-rcnn_r18_fpn_demo.py'


@pytest.fixture(scope='module')
def detco_checkpoint(tmp_path_factory):
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(osp.join(REPO_ROOT, DETCO_DEMO))
    with DefaultScope.overwrite_default_scope('objcon'):
        model = MODELS.build(cfg.model)
    path = str(tmp_path_factory.mktemp('detco') / 'detco_r18.pth')
    return path, save_random_checkpoint(cfg, model, path)


def test_backbone_converts_into_the_demo_mask_rcnn(detco_checkpoint, load_script,
                                                   tmp_path):
    ckpt, state = detco_checkpoint
    out = str(tmp_path / 'detco_backbone.pth')
    convert = load_script('tools/convert_to_mmdet.py')
    assert convert.main([ckpt, out, '--part', 'backbone', '--config',
                         osp.join(REPO_ROOT, DET_DEMO)]) == 0
    converted = torch.load(out, weights_only=True)['state_dict']
    # every backbone tensor of the detector, from the online (not EMA) backbone
    report = verify_against_detector(dict(converted), osp.join(REPO_ROOT, DET_DEMO))
    assert report['missing'] == [] and report['unexpected'] == []
    assert report['checked_prefixes'] == ['backbone.']
    assert report['detector_keys'] == len(converted) > 100
    for key, value in converted.items():
        assert torch.equal(value, state[key]), key
        assert not torch.equal(value, state['target_net.module.' + key]), key


def test_neck_is_refused_clearly(detco_checkpoint):
    ckpt, _ = detco_checkpoint
    with pytest.raises(CheckpointConversionError,
                       match='without an FPN.*use --part backbone'):
        convert_pretrain_checkpoint(ckpt, 'neck')
