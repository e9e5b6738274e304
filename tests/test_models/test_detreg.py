"""DETReg on mmdet's Deformable DETR: mmdet's matching and losses, the frozen
embedding target, the object ids that link boxes to crops."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch

from objcon.errors import InputError

CONFIG = 'configs/objcon/detreg_deformable-detr_r18_demo.py'
# the demo model, smaller still: same classes, same code path
TINY = dict(num_queries=20, encoder=dict(num_layers=1), decoder=dict(num_layers=2))


@pytest.fixture(scope='module')
def target_checkpoint(tmp_path_factory):
    """An R18 'self-supervised' checkpoint as objcon/mmpretrain write them
    (``state_dict`` with ``backbone.`` keys), made here: nothing is downloaded."""
    from mmdet.models.backbones import ResNet
    torch.manual_seed(0)
    backbone = ResNet(depth=18)
    backbone.init_weights()
    for m in backbone.modules():  # BN statistics that are not the defaults
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = str(tmp_path_factory.mktemp('target') / 'r18.pth')
    torch.save(dict(state_dict={f'backbone.{k}': v
                                for k, v in backbone.state_dict().items()},
                    meta=dict()), path)
    return path


def build_cfg(repo_root, checkpoint, **detector):
    from objcon.utils.config import load_config
    cfg = load_config(osp.join(repo_root, CONFIG),
                      dict(target_checkpoint=checkpoint))
    det = cfg.model.detector
    det.num_queries = TINY['num_queries']
    det.encoder.num_layers = TINY['encoder']['num_layers']
    det.decoder.num_layers = TINY['decoder']['num_layers']
    det.update(detector)
    return cfg


def build_model(cfg):
    from mmengine.registry import DefaultScope

    from objcon.registry import MODELS
    from objcon.utils import register_all_modules
    register_all_modules()
    with DefaultScope.overwrite_default_scope('objcon'):
        model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def batch(tiny_demo_root, repo_root, target_checkpoint):
    """Two preprocessed demo images with their selective-search targets, through
    the demo config's pipeline (boxes searched online here, not cached)."""
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate

    from objcon.proposals import PRESETS
    from objcon.registry import TRANSFORMS
    from objcon.utils import register_all_modules
    register_all_modules()
    cfg = build_cfg(repo_root, target_checkpoint)
    pipeline = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)
    assert pipeline[1]['type'] == 'LoadProposals'
    pipeline[1] = dict(type='LoadProposals', source=PRESETS['detreg'])
    pipeline[2]['max_num'] = 8  # ProposalsAsInstances
    pipeline[3]['size'] = 32  # ObjectCrops
    pipeline[5]['scales'] = [(128, 128)]  # RandomChoiceResize: as decoded
    pipeline = Compose([TRANSFORMS.build(t) for t in pipeline])
    np.random.seed(0)
    samples = [pipeline(dict(img_path=osp.join(tiny_demo_root, 'train',
                                               f'{i:06d}.jpg')))
               for i in range(2)]
    return cfg, pseudo_collate(samples)


def preprocessed(model, data):
    return model.data_preprocessor(copy.deepcopy(data), True)


def test_matching_and_box_losses_are_mmdets(batch):
    from mmdet.models.dense_heads import DeformableDETRHead
    from mmdet.models.detectors import DeformableDETR
    from mmdet.models.losses import FocalLoss, GIoULoss, L1Loss
    from mmdet.models.task_modules import (BBoxL1Cost, FocalLossCost,
                                           HungarianAssigner, IoUCost)
    cfg, data = batch
    model = build_model(cfg)
    det = model.detector
    assert type(det) is DeformableDETR and type(det.bbox_head) is DeformableDETRHead
    head = det.bbox_head
    assert type(head.assigner) is HungarianAssigner
    assert [type(c) for c in head.assigner.match_costs] == [
        FocalLossCost, BBoxL1Cost, IoUCost]
    assert [c.weight for c in head.assigner.match_costs] == [2.0, 5.0, 2.0]
    assert (type(head.loss_cls), type(head.loss_bbox), type(head.loss_iou)) == (
        FocalLoss, L1Loss, GIoULoss)
    assert (head.loss_cls.loss_weight, head.loss_bbox.loss_weight,
            head.loss_iou.loss_weight) == (2.0, 5.0, 2.0)
    assert head.num_classes == 1 and type(model.loss_embed) is L1Loss
    torch.manual_seed(0)
    losses = model(**preprocessed(model, data), mode='loss')
    # mmdet's losses of the last layer and of every earlier one (aux), + embed
    assert {'loss_cls', 'loss_bbox', 'loss_iou', 'd0.loss_cls', 'd0.loss_bbox',
            'd0.loss_iou', 'loss_embed'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    # what the detector alone computes on the same targets with label 0
    inputs = preprocessed(model, data)
    det_samples, ids, _ = model.split_samples(inputs['data_samples'])
    assert all(torch.equal(i, torch.arange(len(i))) for i in ids)
    assert all((s.gt_instances.labels == 0).all() for s in det_samples)
    with torch.no_grad():  # same dropout draws: the same function
        torch.manual_seed(1)
        ours = model.loss(inputs['inputs'], inputs['data_samples'])
        torch.manual_seed(1)
        stock = det.loss(inputs['inputs'], det_samples)
    for k, v in stock.items():
        torch.testing.assert_close(ours[k], v)


def test_embedding_regresses_the_frozen_feature_of_each_matched_crop(batch):
    cfg, data = batch
    model = build_model(cfg)
    inputs = preprocessed(model, data)
    # as after a crop that drops boxes: some boxes left, in another order, each
    # with its object id
    for sample in inputs['data_samples']:
        keep = torch.arange(len(sample.gt_instances))[1::2].flip(0)
        sample.gt_instances = sample.gt_instances[keep]
        assert torch.equal(sample.gt_instances.labels, keep)
    seen, matched = [], []
    target_forward, match = model.target.forward, model.matched_queries

    def record_crops(crops):
        seen.append(crops.clone())
        return target_forward(crops)

    def record_matches(*args):
        matched.append(match(*args))
        return matched[-1]

    model.target.forward = record_crops
    model.matched_queries = record_matches
    with torch.no_grad():
        model.loss(inputs['inputs'], inputs['data_samples'])
    (crops, ), (matches, ) = seen, matched
    # each matched query regresses the feature of its own box's crop
    expected = torch.cat([
        s.object_crops[s.gt_instances.labels[boxes]]
        for s, (_, boxes) in zip(inputs['data_samples'], matches)])
    assert torch.equal(crops, expected)
    # more queries than boxes: every kept box is matched once
    assert [sorted(b.tolist()) for _, b in matches] == [
        list(range(len(s.gt_instances))) for s in inputs['data_samples']]


def test_the_frozen_target_has_no_gradient_and_never_changes(batch,
                                                             target_checkpoint):
    cfg, data = batch
    model = build_model(cfg)
    saved = torch.load(target_checkpoint, weights_only=True)['state_dict']
    before = {k: v.clone() for k, v in model.target.state_dict().items()}
    for k, v in model.target.backbone.state_dict().items():
        assert torch.equal(v, saved[f'backbone.{k}']), k
    # the detector's whole backbone (res4, res5 too) starts from the checkpoint
    for k, v in model.detector.backbone.state_dict().items():
        assert torch.equal(v, saved[f'backbone.{k}']), k
    assert not any(p.requires_grad for p in model.target.parameters())
    optim = torch.optim.SGD(model.parameters(), lr=1e-2, weight_decay=0.1)
    model.train()
    assert not model.target.training and not any(
        m.training for m in model.target.modules())
    for _ in range(1):
        losses = model(**preprocessed(model, data), mode='loss')
        total = sum(v for k, v in losses.items() if 'loss' in k)
        optim.zero_grad()
        total.backward()
        assert all(p.grad is None for p in model.target.parameters())
        assert model.embed_head.layers[0].weight.grad.abs().sum() > 0
        optim.step()
    after = model.target.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_a_missing_or_wrong_target_checkpoint_is_a_clear_error(
        repo_root, tmp_path, target_checkpoint):
    cfg = build_cfg(repo_root, str(tmp_path / 'nowhere.pth'))
    with pytest.raises(InputError, match=r"no file at '.*nowhere\.pth'.*"
                                         r"target_checkpoint"):
        build_model(cfg)
    cfg = build_cfg(repo_root, target_checkpoint)
    cfg.model.target.backbone.depth = 50
    with pytest.raises(InputError, match='does not hold this backbone'):
        build_model(cfg)
    with pytest.raises(ValueError, match='num_classes to 1'):
        cfg = build_cfg(repo_root, target_checkpoint)
        cfg.model.detector.bbox_head.num_classes = 80
        build_model(cfg)
