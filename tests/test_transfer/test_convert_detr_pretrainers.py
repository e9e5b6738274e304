"""DETReg and UP-DETR checkpoints convert into weights that mmdet's own stock
Deformable DETR / DETR configs load with no missing key but the class-specific
layers."""
import os.path as osp

import pytest
import torch

from objcon.transfer import convert_pretrain_checkpoint

STOCK = 'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py'


def r50_checkpoint(repo_root, work, config, stages):
    """A Runner-style checkpoint of an R50 pretraining config (the stock
    detector's size), its target backbone (``stages`` stages) from a checkpoint
    made here; random values the stock init would not give."""
    from mmdet.models.backbones import ResNet
    from mmengine.registry import DefaultScope

    from objcon.registry import MODELS
    from objcon.utils import register_all_modules
    from objcon.utils.config import load_config
    register_all_modules()
    target = str(work / 'r50.pth')
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in
                                ResNet(depth=50, num_stages=stages,
                                       out_indices=(stages - 1, ),
                                       strides=(1, 2, 2, 2)[:stages],
                                       dilations=(1, 1, 1, 1)[:stages]
                                       ).state_dict().items()}), target)
    cfg = load_config(osp.join(repo_root, config), dict(target_checkpoint=target))
    with DefaultScope.overwrite_default_scope('objcon'):
        model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    for p in model.parameters():  # values the stock init would not give
        p.data.normal_()
    path = str(work / 'epoch_1.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(cfg=cfg.pretty_text)), path)
    return path, model.state_dict()


@pytest.fixture(scope='module')
def detreg_r50_checkpoint(repo_root, tmp_path_factory):
    return r50_checkpoint(
        repo_root, tmp_path_factory.mktemp('detreg_r50'),
        'configs/objcon/detreg_deformable-detr_r50_5e_in1k.py', stages=2)


def test_whole_detector_loads_into_mmdets_stock_config(detreg_r50_checkpoint,
                                                       load_script, tmp_path,
                                                       capsys):
    from objcon.transfer.convert import build_detector
    path, pretrained = detreg_r50_checkpoint
    state, summary = convert_pretrain_checkpoint(path, 'head')
    assert summary['config'] == STOCK
    assert summary['reinitialized'] == ['bbox_head.cls_branches.',
                                        'bbox_head.fc_cls.']
    # the stock COCO detector (80 classes): everything but the class layers
    stock = build_detector(STOCK)
    missing, unexpected = stock.load_state_dict(state, strict=False)
    assert unexpected == []
    assert missing and all(k.startswith('bbox_head.cls_branches.')
                           for k in missing)
    for k, v in stock.state_dict().items():
        if not k.startswith('bbox_head.cls_branches.'):
            assert torch.equal(v, pretrained[f'detector.{k}']), k
    assert not any(k.startswith(('target.', 'embed_head.')) for k in state)
    # the tool: checked against the stock config, the left-out layers named
    out = str(tmp_path / 'detreg_mmdet.pth')
    tool = load_script('tools/convert_to_mmdet.py')
    assert tool.main([path, out, '--part', 'head']) == 0
    printed = capsys.readouterr().out
    assert f'checked against {STOCK}' in printed and '0 missing' in printed
    assert ('class-specific layers re-initialised by the detector (not '
            'transferred): bbox_head.cls_branches.') in printed
    written = torch.load(out, weights_only=True)['state_dict']
    assert written.keys() == state.keys()


def test_updetr_detector_loads_into_mmdets_stock_detr(repo_root, tmp_path):
    from objcon.transfer import verify_against_detector
    from objcon.transfer.convert import build_detector
    path, pretrained = r50_checkpoint(
        repo_root, tmp_path, 'configs/objcon/updetr_detr_r50_60e_in1k.py',
        stages=4)
    state, summary = convert_pretrain_checkpoint(path, 'head')
    stock_cfg = 'mmdet::detr/detr_r50_8xb2-150e_coco.py'
    assert summary['config'] == stock_cfg
    stock = build_detector(stock_cfg)
    missing, unexpected = stock.load_state_dict(state, strict=False)
    assert unexpected == []
    assert sorted(missing) == ['bbox_head.fc_cls.bias', 'bbox_head.fc_cls.weight']
    assert not any(k.startswith(('target.', 'patch_to_query.', 'feature_head.'))
                   for k in state)
    report = verify_against_detector(state, stock_cfg, summary['reinitialized'])
    assert report['reinitialized'] == sorted(missing)
