"""PLRC's whole-ResNet backbone converts for FPN and C4 detectors (res5 as the C4
RoI shared head), checked on the real mmdet models."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from objcon.registry import MODELS
from objcon.transfer import (CheckpointConversionError,
                             convert_pretrain_checkpoint, verify_against_detector)
from objcon.utils import register_all_modules
from tests.conftest import REPO_ROOT
from tests.test_transfer.random_checkpoint import (online_tensors,
                                                  save_random_checkpoint)

# Builds an R50 PLRC and three R50 detectors, writes a ~100 MB checkpoint.
pytestmark = pytest.mark.slow

PLRC = 'configs/objcon/plrc_r50_100e_in1k.py'
FPN = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
# PLRC's protocol; the COCO C4 benchmark has the same backbone and shared head
C4_VOC = osp.join(REPO_ROOT,
                  'configs/benchmarks/faster-rcnn_r50_c4_syncbn_24k_voc0712.py')


@pytest.fixture(scope='module')
def plrc_checkpoint(tmp_path_factory):
    """A Runner-style checkpoint of the R50 PLRC (narrow heads: they do not
    transfer) with random tensors; returns its path and online tensors."""
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(osp.join(REPO_ROOT, PLRC))
    cfg.model.point_projector.update(hid_channels=16, out_channels=8)
    cfg.model.dense_head.update(hid_channels=16, bottleneck_channels=8,
                                out_channels=16)
    cfg.model.update(feat_dim=8, queue_size=4, dense_size=4)
    with DefaultScope.overwrite_default_scope('objcon'):
        model = MODELS.build(cfg.model)
    path = str(tmp_path_factory.mktemp('plrc') / 'plrc_r50.pth')
    return path, online_tensors(save_random_checkpoint(cfg, model, path))


def test_backbone_converts_for_an_fpn_detector(plrc_checkpoint):
    path, online = plrc_checkpoint
    state, summary = convert_pretrain_checkpoint(path, 'backbone')
    assert summary['c4'] is False and summary['algorithm'] == 'PLRC'
    backbone = {k: v for k, v in online.items() if k.startswith('backbone.')}
    assert set(state) == set(backbone)
    report = verify_against_detector(state, FPN)
    assert report['missing'] == [] and report['detector_keys'] == len(backbone)


def test_backbone_converts_for_the_voc_c4_detector_with_res5_as_shared_head(
        plrc_checkpoint):
    path, online = plrc_checkpoint
    state, summary = convert_pretrain_checkpoint(path, 'backbone', 'c4')
    assert summary['c4'] is True
    res5 = [k for k in online if k.startswith('backbone.layer4.')]
    assert res5 and not any(k.startswith('backbone.layer4.') for k in state)
    for key in res5:
        moved = 'roi_head.shared_head.' + key[len('backbone.'):]
        assert torch.equal(state[moved], online[key]), key
    report = verify_against_detector(state, C4_VOC)
    assert report['missing'] == [] and report['unexpected'] == []
    assert report['checked_prefixes'] == ['backbone.',
                                          'roi_head.shared_head.layer4.']
    assert report['detector_keys'] == len(state)


def test_refuses_to_put_more_than_the_backbone_into_a_c4_detector(
        plrc_checkpoint):
    path, _ = plrc_checkpoint
    with pytest.raises(CheckpointConversionError, match='no neck'):
        convert_pretrain_checkpoint(path, 'neck', 'c4')
    with pytest.raises(CheckpointConversionError, match="'fpn' or 'c4'"):
        convert_pretrain_checkpoint(path, 'backbone', 'dc5')


def test_cli_takes_the_detector_kind_from_the_config(plrc_checkpoint, load_script,
                                                      tmp_path):
    path, online = plrc_checkpoint
    out = str(tmp_path / 'c4.pth')
    convert = load_script('tools/convert_to_mmdet.py')
    assert convert.main([path, out, '--part', 'backbone', '--config', C4_VOC]) == 0
    state = torch.load(out, weights_only=True)['state_dict']
    assert torch.equal(state['roi_head.shared_head.layer4.0.conv1.weight'],
                       online['backbone.layer4.0.conv1.weight'])
