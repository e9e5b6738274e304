"""tools/convert_to_mmdet.py on a supervised detector: the demo Mask R-CNN trained
on the labels (objcon-bench's supervised row) transfers its backbone / FPN."""
import os.path as osp

import pytest
import torch

from objcon.transfer import CheckpointConversionError, convert_pretrain_checkpoint
from tests.conftest import MASK_RCNN_DEMO, REPO_ROOT

pytestmark = pytest.mark.slow  # a trained detector


@pytest.mark.parametrize('part,prefixes', [('backbone', ('backbone.', )),
                                           ('neck', ('backbone.', 'neck.'))])
def test_detector_transfers_its_backbone_and_neck_by_name(
        mask_rcnn_demo_run, load_script, tmp_path, capsys, part, prefixes):
    ckpt = osp.join(mask_rcnn_demo_run, 'iter_2.pth')
    out = str(tmp_path / f'{part}.pth')
    cli = load_script('tools/convert_to_mmdet.py')
    # the tool checks that the output loads into the fine-tuning detector
    assert cli.main([ckpt, out, '--part', part, '--config',
                     osp.join(REPO_ROOT, MASK_RCNN_DEMO)]) == 0
    printed = capsys.readouterr().out
    assert 'mmdet.MaskRCNN online weights' in printed
    assert '0 missing, 0 unexpected' in printed

    converted = torch.load(out, weights_only=True)
    assert converted['meta']['algorithm'] == 'mmdet.MaskRCNN'
    detector = torch.load(ckpt, weights_only=True)['state_dict']
    wanted = {k for k in detector if k.startswith(prefixes)}
    # every tensor of the part, as the detector has it; no head
    assert set(converted['state_dict']) == wanted
    for k, v in converted['state_dict'].items():
        assert torch.equal(v, detector[k]), k
    assert not [k for k in converted['state_dict']
                if k.startswith(('rpn_head.', 'roi_head.'))]


def test_detector_head_is_refused(mask_rcnn_demo_run):
    with pytest.raises(CheckpointConversionError,
                       match=r'supervised detector \(mmdet.MaskRCNN\).*'
                       '--part backbone or --part neck'):
        convert_pretrain_checkpoint(
            osp.join(mask_rcnn_demo_run, 'iter_2.pth'), 'head')


def test_c4_detector_transfers_res5_with_its_backbone(tmp_path):
    # a C4 detector keeps res5 as its RoI shared head, as objcon's C4 models do
    cfg = ("default_scope = 'mmdet'\n"
           "model = dict(type='MaskRCNN', backbone=dict(type='ResNet'), "
           "roi_head=dict(type='StandardRoIHead', "
           "shared_head=dict(type='ResLayer')))")
    state = {k: torch.randn(2) for k in (
        'backbone.conv1.weight', 'roi_head.shared_head.layer4.0.conv1.weight',
        'roi_head.bbox_head.fc_cls.weight', 'rpn_head.rpn_conv.weight')}
    ckpt = str(tmp_path / 'c4.pth')
    torch.save(dict(state_dict=state, meta=dict(cfg=cfg)), ckpt)
    converted, summary = convert_pretrain_checkpoint(ckpt, 'backbone')
    assert summary['c4'] and summary['algorithm'] == 'mmdet.MaskRCNN'
    assert sorted(converted) == ['backbone.conv1.weight',
                                 'roi_head.shared_head.layer4.0.conv1.weight']
    with pytest.raises(CheckpointConversionError, match='no neck to transfer'):
        convert_pretrain_checkpoint(ckpt, 'neck')
