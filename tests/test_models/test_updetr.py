"""UP-DETR on mmdet's DETR: query groups masked from each other, mmdet's matching
and losses, random patches."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch

from objcon.models.algorithms import query_group_mask
from tests.test_models.test_detreg import build_model, preprocessed

CONFIG = 'configs/objcon/updetr_detr_r18_demo.py'


def test_query_group_mask_on_a_hand_made_case():
    x, o = True, False  # x: may not attend
    expected = torch.tensor([[o, o, x, x, x, x],
                             [o, o, x, x, x, x],
                             [x, x, o, o, x, x],
                             [x, x, o, o, x, x],
                             [x, x, x, x, o, o],
                             [x, x, x, x, o, o]])
    assert torch.equal(query_group_mask(6, 3), expected)
    assert not query_group_mask(4, 1).any()
    with pytest.raises(ValueError, match='4 query groups do not divide 6'):
        query_group_mask(6, 4)


def test_random_patches_have_uniform_sides_inside_the_image():
    from objcon.proposals import RandomPatches
    img = np.zeros((100, 60, 3), np.uint8)
    source = RandomPatches(num=200)
    boxes = source(img)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    assert boxes.shape == (200, 4) and (boxes >= 0).all()
    assert (boxes[:, 2] <= 60).all() and (boxes[:, 3] <= 100).all()
    assert w.min() >= 8 and w.max() <= 52 and h.min() >= 8 and h.max() <= 92
    assert w.max() - w.min() > 30  # spread over the range, not fixed
    assert not np.array_equal(boxes, source(img))  # new patches at every call
    seeded = RandomPatches(num=5, seed=1)
    assert np.array_equal(seeded(img, 'a.jpg'), seeded(img, 'a.jpg'))


@pytest.fixture(scope='module')
def updetr(tiny_demo_root, repo_root, tmp_path_factory):
    """A small UP-DETR (R18, 20 queries in 10 groups, 1+2 layers) and a batch of
    two demo images through the demo config's pipeline."""
    from mmcv.transforms import Compose
    from mmdet.models.backbones import ResNet
    from mmengine.dataset import pseudo_collate

    from objcon.registry import TRANSFORMS
    from objcon.utils import register_all_modules
    from objcon.utils.config import load_config
    register_all_modules()
    target = str(tmp_path_factory.mktemp('updetr') / 'r18.pth')
    torch.manual_seed(0)
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in
                                ResNet(depth=18).state_dict().items()}), target)
    cfg = load_config(osp.join(repo_root, CONFIG),
                      dict(target_checkpoint=target, crop_size=32))
    det = cfg.model.detector
    det.num_queries = 20
    det.encoder.num_layers, det.decoder.num_layers = 1, 2
    pipeline = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)
    pipeline[5]['scales'] = [(128, 128)]
    pipeline = Compose([TRANSFORMS.build(t) for t in pipeline])
    np.random.seed(0)
    data = pseudo_collate([
        pipeline(dict(img_path=osp.join(tiny_demo_root, 'train', f'{i:06d}.jpg')))
        for i in range(2)])
    return build_model(cfg), data


def test_a_patch_feature_reaches_only_its_own_query_group(updetr):
    model, data = updetr
    model.eval()  # no dropout, no zeroed patch feature
    inputs = preprocessed(model, data)
    det_samples, _, _ = model.split_samples(inputs['data_samples'])
    torch.manual_seed(0)
    features = torch.randn(2, 10, model.target.out_channels)
    changed = features.clone()
    changed[:, 3] += 1.0  # patch 3 -> query group 3: queries 6 and 7
    with torch.no_grad():
        a = model.forward_with_patches(inputs['inputs'], det_samples, features)
        b = model.forward_with_patches(inputs['inputs'], det_samples, changed)
    a, b = a['hidden_states'], b['hidden_states']
    others = [q for q in range(20) if q not in (6, 7)]
    torch.testing.assert_close(a[:, :, others], b[:, :, others])
    assert (a[:, :, 6:8] - b[:, :, 6:8]).abs().amax() > 1e-3


def test_losses_are_mmdets_detr_losses_plus_reconstruction(updetr):
    from mmdet.models.dense_heads import DETRHead
    from mmdet.models.detectors import DETR
    from mmdet.models.losses import CrossEntropyLoss, GIoULoss, L1Loss
    from mmdet.models.task_modules import (BBoxL1Cost, ClassificationCost,
                                           HungarianAssigner, IoUCost)
    model, data = updetr
    model.train()
    head = model.detector.bbox_head
    assert type(model.detector) is DETR and type(head) is DETRHead
    assert type(head.assigner) is HungarianAssigner
    assert [type(c) for c in head.assigner.match_costs] == [
        ClassificationCost, BBoxL1Cost, IoUCost]
    assert (type(head.loss_cls), type(head.loss_bbox), type(head.loss_iou)) == (
        CrossEntropyLoss, L1Loss, GIoULoss)
    assert head.bg_cls_weight == 0.1 and head.num_classes == 1
    assert not any(p.requires_grad for p in model.target.parameters())
    losses = model(**preprocessed(model, data), mode='loss')
    assert {'loss_cls', 'loss_bbox', 'loss_iou', 'd0.loss_cls',
            'loss_feature'} <= set(losses)
    # the L2-normalised squared error is at most 4 per patch
    assert 0 < losses['loss_feature'] <= 4
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert model.patch_to_query.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.target.parameters())
