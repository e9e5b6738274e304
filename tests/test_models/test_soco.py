import copy

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.structures import BaseDataElement

from objcon.registry import MODELS
from objcon.utils import register_all_modules

BN = dict(type='BN', requires_grad=True)


def tiny_soco_cfg(c=32):
    mlp = dict(type='mmpretrain.NonLinearNeck', num_layers=2, with_bias=True,
               with_last_bn=False, with_avg_pool=False, norm_cfg=dict(type='BN1d'))
    return dict(
        type='SoCo',
        backbone=dict(type='mmdet.ResNet', depth=18, norm_cfg=BN, norm_eval=False,
                      zero_init_residual=True),
        neck=dict(type='mmdet.FPN', in_channels=[64, 128, 256, 512],
                  out_channels=c, num_outs=4, norm_cfg=BN),
        roi_align=dict(type='MultiLevelRoIAlign', output_size=7,
                       featmap_strides=[4, 8, 16, 32]),
        trunk=dict(type='SharedConvFCTrunk', in_channels=c, conv_out_channels=c,
                   fc_out_channels=64, norm_cfg=BN),
        projector=dict(mlp, in_channels=64, hid_channels=128, out_channels=32),
        head=dict(type='ObjectPredictHead',
                  predictor=dict(mlp, in_channels=32, hid_channels=128,
                                 out_channels=32)),
        data_preprocessor=dict(type='mmpretrain.SelfSupDataPreprocessor',
                               mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], to_rgb=True))


def _batch(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    sizes = (96, 96, 48)
    samples = []
    for _ in range(n):
        pairs = []
        for a, b in ((0, 1), (0, 2)):
            xy = torch.rand(4, 2, generator=g) * 40
            box = torch.cat([xy, xy + 8 + torch.rand(4, 2, generator=g) * 40], 1)
            pairs.append(dict(views=(a, b), boxes_a=box,
                              boxes_b=box * sizes[b] / 96.,
                              ids=torch.tensor([0, 1, 2, 0])))
        samples.append(BaseDataElement(view_pairs=pairs))
    inputs = [torch.randint(0, 256, (n, 3, s, s), dtype=torch.uint8,
                            generator=g) for s in sizes]
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture
def soco():
    register_all_modules()
    MessageHub.get_current_instance().update_info('max_iters', 10)
    torch.manual_seed(0)
    model = MODELS.build(tiny_soco_cfg())
    model.init_weights()
    return model


def test_loss_backward_reaches_online_not_target(soco):
    data = soco.data_preprocessor(_batch(), True)
    losses = soco(**data, mode='loss')
    assert set(losses) == {'loss_pair0', 'loss_pair1', 'momentum',
                           'matched_pairs'}
    # ids (0, 1, 2, 0), each box on one level per view: id 0 gives 2 x 2
    # matches, ids 1 and 2 one each -> 6 per image and pair, 2 images, 2 pairs
    assert float(losses['matched_pairs']) == 24
    total = losses['loss_pair0'] + losses['loss_pair1']
    assert torch.isfinite(total) and -8 <= float(total) <= 8
    total.backward()
    assert soco.backbone.conv1.weight.grad is not None
    assert soco.head.predictor.fc0.weight.grad is not None
    assert all(p.grad is None for p in soco.target_net.parameters())


def test_target_follows_online_by_the_cosine_ema(soco):
    soco.loss(soco.data_preprocessor(_batch(), True)['inputs'],
              _batch()['data_samples'])  # first update copies the online net
    online = soco.backbone.conv1.weight
    target = soco.target_net.module['backbone'].conv1.weight
    assert torch.equal(online, target)
    with torch.no_grad():
        online.add_(1.0)
    before = target.detach().clone()
    soco.loss(soco.data_preprocessor(_batch(), True)['inputs'],
              _batch()['data_samples'])  # update k=1 of K=10
    tau = soco.current_momentum()
    assert tau == pytest.approx(1 - 0.01 * (torch.cos(torch.tensor(
        torch.pi * 1 / 10)).item() + 1) / 2)
    assert torch.allclose(target, tau * before + (1 - tau) * online, atol=1e-6)


def test_mismatched_pairs_and_modes_are_refused(soco):
    data = _batch()
    data['data_samples'][1].view_pairs[0]['views'] = (0, 2)
    with pytest.raises(ValueError, match='different views'):
        soco.loss(soco.data_preprocessor(data, True)['inputs'],
                  data['data_samples'])
    with pytest.raises(RuntimeError, match='pretraining'):
        soco(torch.zeros(1, 3, 32, 32), mode='predict')


def test_level_thresholds_must_match_levels():
    register_all_modules()
    cfg = tiny_soco_cfg()
    cfg['level_thresholds'] = (48, 96)
    with pytest.raises(ValueError, match='thresholds'):
        MODELS.build(cfg)


def _loss_and_grads(model, data):
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    total.backward()
    grads = {k: p.grad.clone() for k, p in model.named_parameters()
             if p.grad is not None}
    return losses, grads


def test_batched_embedding_equals_one_call_per_chunk(soco):
    """The grouped-BN path is the reference's per-(view, pair, level) loop."""
    per_call = copy.deepcopy(soco)
    per_call.batched_embed = False
    data = soco.data_preprocessor(_batch(), True)
    losses, grads = _loss_and_grads(soco, data)
    ref_losses, ref_grads = _loss_and_grads(per_call, data)
    for key in ref_losses:
        torch.testing.assert_close(losses[key], ref_losses[key],
                                   rtol=1e-5, atol=1e-6)
    assert grads.keys() == ref_grads.keys()
    assert any(k.startswith('trunk.') for k in grads)
    for key, grad in ref_grads.items():
        torch.testing.assert_close(grads[key], grad, rtol=1e-3, atol=1e-6,
                                   msg=key)
    # running stats of trunk/projector/predictor, online and target
    ref_buffers = dict(per_call.named_buffers())
    for key, buf in soco.named_buffers():
        torch.testing.assert_close(buf, ref_buffers[key], rtol=1e-5, atol=1e-6,
                                   msg=key)


def test_sync_bn_falls_back_to_one_call_per_chunk(soco, monkeypatch):
    import objcon.models.algorithms.soco as soco_module
    calls = []
    monkeypatch.setattr(soco_module, 'supports_grouped_batch_norm',
                        lambda m: calls.append(m) or False)
    trunk_calls = []
    soco.trunk.register_forward_hook(lambda *_: trunk_calls.append(1))
    soco(**soco.data_preprocessor(_batch(), True), mode='loss')
    # 2 pairs x 2 views x 4 levels, online only (hook on the online trunk)
    assert calls and len(trunk_calls) == 16


def test_assigned_levels_keep_the_loss_terms(soco):
    """Pooling only assigned levels drops just the slots the mask never uses."""
    data = soco.data_preprocessor(_batch(), True)
    soco.loss(data['inputs'], data['data_samples'])  # EMA: target := online
    fast = copy.deepcopy(soco)  # same weights and running stats
    fast.pool_levels = 'assigned'
    soco.eval()  # BN from running stats: per box, whatever the batching
    fast.eval()
    ref = soco(**data, mode='loss')
    out = fast(**data, mode='loss')
    assert float(out['matched_pairs']) == float(ref['matched_pairs']) == 24
    for key in ('loss_pair0', 'loss_pair1'):
        torch.testing.assert_close(out[key], ref[key], rtol=1e-5, atol=1e-6)
        assert float(out[key]) != 0


def test_assigned_levels_train(soco):
    soco.pool_levels = 'assigned'
    trunk_rows = []
    soco.trunk.register_forward_hook(
        lambda m, args, out: trunk_rows.append(args[0].shape[0]))
    losses, grads = _loss_and_grads(soco, soco.data_preprocessor(_batch(), True))
    # one chunk per (pair, view) of 2 images x 4 boxes, all in one call
    assert trunk_rows == [2 * 2 * 2 * 4]
    assert torch.isfinite(losses['loss_pair0'] + losses['loss_pair1'])
    assert 'backbone.conv1.weight' in grads and 'trunk.shared_fcs.0.weight' in grads


def test_pool_levels_must_be_known():
    register_all_modules()
    cfg = tiny_soco_cfg()
    cfg['pool_levels'] = 'some'
    with pytest.raises(ValueError, match='pool_levels'):
        MODELS.build(cfg)
