import copy
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.structures import BaseDataElement

from objcon.registry import MODELS
from objcon.structures import ViewPairs
from objcon.utils import register_all_modules

BN = dict(type='BN', requires_grad=True)
MLP = dict(type='mmpretrain.NonLinearNeck', num_layers=2, with_bias=True,
           with_last_bias=True, with_last_bn=False, with_avg_pool=False,
           norm_cfg=dict(type='BN1d'))
PREPROCESSOR = dict(type='mmpretrain.SelfSupDataPreprocessor',
                    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                    to_rgb=True)


def tiny_soco_cfg(c=32):
    return dict(
        type='SoCo',
        backbone=dict(type='mmdet.ResNet', depth=18, norm_cfg=BN, norm_eval=False,
                      zero_init_residual=True),
        neck=dict(type='mmdet.FPN', in_channels=[64, 128, 256, 512],
                  out_channels=c, num_outs=4, norm_cfg=BN),
        embedder=dict(
            type='ObjectEmbedder',
            roi_align=dict(type='MultiLevelRoIAlign', output_size=7,
                           featmap_strides=[4, 8, 16, 32]),
            trunk=dict(type='SharedConvFCTrunk', in_channels=c, conv_out_channels=c,
                       fc_out_channels=64, norm_cfg=BN),
            projector=dict(MLP, in_channels=64, hid_channels=128, out_channels=32)),
        head=dict(type='ObjectPredictHead',
                  predictor=dict(MLP, in_channels=32, hid_channels=128,
                                 out_channels=32)),
        data_preprocessor=PREPROCESSOR)


def tiny_soco_c4_cfg():
    """SoCo-C4 shrunk: ResNet-18 up to C4, RoIAlign 14x14, res5 trunk."""
    return dict(
        type='SoCo',
        backbone=dict(type='mmdet.ResNet', depth=18, num_stages=3,
                      strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2, ),
                      norm_cfg=BN, norm_eval=False),
        neck=None,
        embedder=dict(
            type='ObjectEmbedder',
            roi_align=dict(type='MultiLevelRoIAlign', output_size=14,
                           featmap_strides=[16]),
            trunk=dict(type='ResLayerTrunk',
                       res_layer=dict(type='mmdet.ResLayer', depth=18, stage=3,
                                      stride=2, norm_cfg=BN, norm_eval=False)),
            projector=dict(MLP, in_channels=512, hid_channels=128, out_channels=32)),
        head=dict(type='ObjectPredictHead',
                  predictor=dict(MLP, in_channels=32, hid_channels=128,
                                 out_channels=32)),
        data_preprocessor=PREPROCESSOR)


def _batch(n=2, seed=0, sizes=(96, 96, 48), pairs=((0, 1), (0, 2))):
    g = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(n):
        slots = []
        for a, b in pairs:
            xy = torch.rand(4, 2, generator=g) * 40
            box = torch.cat([xy, xy + 8 + torch.rand(4, 2, generator=g) * 40], 1)
            # padding drawn per view: the two views repeat different boxes
            slots.append((box, torch.tensor([0, 1, 2, 0]),
                          box[[0, 1, 2, 1]] * sizes[b] / sizes[a],
                          torch.tensor([0, 1, 2, 1])))
        samples.append(BaseDataElement(view_pairs=ViewPairs(
            tuple(pairs), *(torch.stack([s[j] for s in slots]) for j in range(4)))))
    inputs = [torch.randint(0, 256, (n, 3, s, s), dtype=torch.uint8,
                            generator=g) for s in sizes]
    return dict(inputs=inputs, data_samples=samples)


def _build(cfg):
    register_all_modules()
    MessageHub.get_current_instance().update_info('max_iters', 10)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


@pytest.fixture
def soco():
    return _build(tiny_soco_cfg())


def test_loss_backward_reaches_online_not_target(soco):
    data = soco.data_preprocessor(_batch(), True)
    losses = soco(**data, mode='loss')
    assert set(losses) == {'loss_pair0', 'loss_pair1', 'momentum',
                           'matched_pairs'}
    # view a's ids (0, 1, 2, 0), view b's (0, 1, 2, 1), each box on one level
    # per view: id 0 gives 2 x 1 matches, id 1 1 x 2, id 2 one -> 5 per image
    # and pair, 2 images, 2 pairs
    assert float(losses['matched_pairs']) == 20
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
    target = soco.target['backbone'].conv1.weight
    assert torch.equal(online, target)
    with torch.no_grad():
        online.add_(1.0)
    before = target.detach().clone()
    soco.loss(soco.data_preprocessor(_batch(), True)['inputs'],
              _batch()['data_samples'])  # update k=1 of K=10
    tau = soco.current_momentum()
    assert tau == pytest.approx(1 - 0.01 * (math.cos(math.pi * 1 / 10) + 1) / 2)
    assert torch.allclose(target, tau * before + (1 - tau) * online, atol=1e-6)


def test_mismatched_pairs_and_modes_are_refused(soco):
    data = _batch()
    vp = data['data_samples'][1].view_pairs
    data['data_samples'][1].view_pairs = ViewPairs(
        ((0, 2), (0, 2)), vp.boxes_a, vp.ids_a, vp.boxes_b, vp.ids_b)
    with pytest.raises(ValueError, match='same pairs'):
        soco.loss(soco.data_preprocessor(data, True)['inputs'],
                  data['data_samples'])
    with pytest.raises(RuntimeError, match='Invalid mode'):
        soco(torch.zeros(1, 3, 32, 32), mode='predict')


def test_level_thresholds_must_match_levels():
    cfg = tiny_soco_cfg()
    cfg['level_thresholds'] = (48, 96)
    with pytest.raises(ValueError, match='thresholds'):
        _build(cfg)


def test_level_thresholds_follow_the_view_size(soco):
    def views(side):
        return [torch.zeros(1, 3, side, side), torch.zeros(1, 3, side // 2,
                                                           side // 2)]
    assert soco.scaled_thresholds(views(224)) == (48, 96, 192, 224)
    assert soco.scaled_thresholds(views(128)) == (27, 55, 110, 128)
    soco.level_reference_size = None
    assert soco.scaled_thresholds(views(128)) == (48, 96, 192, 224)


def _reference_levels(boxes, thresholds):
    """SoCo's rule written out: first level whose bound is >= sqrt(w h)."""
    out = torch.zeros(boxes.shape[:2], dtype=torch.long)
    for n in range(boxes.shape[0]):
        for i in range(boxes.shape[1]):
            x1, y1, x2, y2 = boxes[n, i].tolist()
            s = math.sqrt(max(x2 - x1, 0) * max(y2 - y1, 0))
            out[n, i] = next((lv for lv, t in enumerate(thresholds) if t >= s),
                             len(thresholds) - 1) if thresholds else 0
    return out


def _reference_loss(model, inputs, pairs, thresholds):
    """SoCo's loss computed as the reference does: every (view, pair, level)
    chunk through trunk, projector and predictor in a call of its own, levels
    and correspondence by loops, the per-image mean of matched cosines."""
    online = dict(backbone=model.backbone, neck=model.neck,
                  embedder=model.embedder)
    target = model.target

    def feats(branch, x):
        x = branch['backbone'](x)
        neck = branch['neck'] if 'neck' in branch else None
        return tuple(neck(x)) if neck is not None else tuple(x)

    def embed(branch, levels_feats, boxes, predict):
        n, k = boxes.shape[:2]
        rois = torch.cat([torch.cat([torch.full((k, 1), float(i)), boxes[i]], 1)
                          for i in range(n)])
        emb = branch['embedder']
        out = []
        for lvl, layer in enumerate(emb.roi_align.layers):
            z = emb.projector((emb.trunk(layer(levels_feats[lvl], rois)), ))[0]
            if predict:
                z = model.head.predictor((z, ))[0]
            out.append(z.view(n, k, -1))
        return torch.cat(out, 1)  # (N, L*K, D), level-major

    def mask(ids_a, lv_a, ids_b, lv_b, num_levels):
        n, k = ids_a.shape
        m = torch.zeros(n, num_levels * k, num_levels * k)
        for b in range(n):
            for i in range(k):
                for j in range(k):
                    if ids_a[b, i] == ids_b[b, j]:
                        m[b, lv_a[b, i] * k + i, lv_b[b, j] * k + j] = 1
        return m

    def cosine_loss(q, t, m):
        sim = F.normalize(q, dim=-1) @ F.normalize(t, dim=-1).transpose(1, 2)
        return -2 * ((sim * m).sum((1, 2)) / (m.sum((1, 2)) + 1e-6)).mean()

    num_levels = model.embedder.num_levels
    total = {}
    for i, p in enumerate(pairs):
        lv_a = _reference_levels(p.boxes_a, thresholds)
        lv_b = _reference_levels(p.boxes_b, thresholds)
        m = mask(p.ids_a, lv_a, p.ids_b, lv_b, num_levels)
        q_a = embed(online, feats(online, inputs[p.a]), p.boxes_a, True)
        q_b = embed(online, feats(online, inputs[p.b]), p.boxes_b, True)
        with torch.no_grad():
            t_a = embed(target, feats(target, inputs[p.a]), p.boxes_a, False)
            t_b = embed(target, feats(target, inputs[p.b]), p.boxes_b, False)
        total[f'loss_pair{i}'] = cosine_loss(q_a, t_b, m) + \
            cosine_loss(q_b, t_a, m.transpose(1, 2))
    return total


@pytest.mark.parametrize('arch', ['fpn', 'c4'])
def test_loss_equals_an_independent_per_call_computation(arch):
    """Parity: batched embedding, grouped BN, level and mask helpers against
    a plain per-chunk computation of SoCo's loss (BN statistics per chunk)."""
    if arch == 'fpn':
        model, data = _build(tiny_soco_cfg()), _batch()
    else:
        model = _build(tiny_soco_c4_cfg())
        data = _batch(sizes=(96, 96), pairs=((0, 1), ))
    with torch.no_grad():  # a target that differs from the online network
        for p in model.target.parameters():
            p.add_(0.01 * torch.randn_like(p))
    data = model.data_preprocessor(data, True)
    ref = copy.deepcopy(model)
    losses = model(**data, mode='loss')
    ref.update_target()  # the step model.loss took before its target forward
    pairs = ref.view_pairs(data['data_samples']).pairs()
    thresholds = ref.scaled_thresholds(data['inputs'])
    expected = _reference_loss(ref, data['inputs'], pairs, thresholds)
    assert expected.keys() == {k for k in losses if k.startswith('loss')}
    for key, value in expected.items():
        assert abs(float(losses[key]) - float(value)) < 1e-6, \
            (key, float(losses[key]), float(value))
    # the losses are not trivially equal (e.g. all zero)
    assert all(abs(float(v)) > 1e-3 for v in expected.values())


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
    per_call.embedder.batched = per_call.head.batched = False
    data = soco.data_preprocessor(_batch(), True)
    losses, grads = _loss_and_grads(soco, data)
    ref_losses, ref_grads = _loss_and_grads(per_call, data)
    for key in ref_losses:
        torch.testing.assert_close(losses[key], ref_losses[key],
                                   rtol=1e-5, atol=1e-6)
    assert grads.keys() == ref_grads.keys()
    assert any(k.startswith('embedder.trunk.') for k in grads)
    for key, grad in ref_grads.items():
        torch.testing.assert_close(grads[key], grad, rtol=1e-3, atol=1e-6,
                                   msg=key)
    # running stats of trunk/projector/predictor, online and target
    ref_buffers = dict(per_call.named_buffers())
    for key, buf in soco.named_buffers():
        torch.testing.assert_close(buf, ref_buffers[key], rtol=1e-5, atol=1e-6,
                                   msg=key)


def test_sync_bn_falls_back_to_one_call_per_chunk(soco, monkeypatch):
    import importlib
    gbn = importlib.import_module('objcon.models.utils.grouped_batch_norm')
    calls = []
    monkeypatch.setattr(gbn, 'supports_grouped_batch_norm',
                        lambda m: calls.append(m) or False)
    trunk_calls = []
    soco.embedder.trunk.register_forward_hook(lambda *_: trunk_calls.append(1))
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
    assert float(out['matched_pairs']) == float(ref['matched_pairs']) == 20
    for key in ('loss_pair0', 'loss_pair1'):
        torch.testing.assert_close(out[key], ref[key], rtol=1e-5, atol=1e-6)
        assert float(out[key]) != 0


def test_assigned_levels_train(soco):
    soco.pool_levels = 'assigned'
    trunk_rows = []
    soco.embedder.trunk.register_forward_hook(
        lambda m, args, out: trunk_rows.append(args[0].shape[0]))
    losses, grads = _loss_and_grads(soco, soco.data_preprocessor(_batch(), True))
    # one chunk per (pair, view) of 2 images x 4 boxes, all in one call
    assert trunk_rows == [2 * 2 * 2 * 4]
    assert torch.isfinite(losses['loss_pair0'] + losses['loss_pair1'])
    assert 'backbone.conv1.weight' in grads
    assert 'embedder.trunk.shared_fcs.0.weight' in grads


def test_pool_levels_must_be_known():
    cfg = tiny_soco_cfg()
    cfg['pool_levels'] = 'some'
    with pytest.raises(ValueError, match='pool_levels'):
        _build(cfg)


def test_r50_config_initialises_and_biases_as_the_reference(repo_root):
    """FPN convs Kaiming-normal (fan_out), trunk Linear PyTorch's default (not
    Xavier), projector/predictor with a bias on their last Linear."""
    import os.path as osp

    from objcon.utils import load_config
    cfg = load_config(osp.join(repo_root, 'configs/_base_/models/soco_r50_fpn.py'))
    model = _build(cfg.model)
    lateral = model.neck.lateral_convs[3].conv.weight  # 2048 -> 256, 1x1
    fan_out = lateral.shape[0]
    assert float(lateral.std()) == pytest.approx(math.sqrt(2 / fan_out), rel=0.05)
    fc = model.embedder.trunk.shared_fcs[0]  # 12544 -> 1024
    bound = 1 / math.sqrt(fc.in_features)  # PyTorch's default: U(+-1/sqrt(in))
    assert float(fc.weight.abs().max()) <= bound * (1 + 1e-6)  # float32 bound
    assert float(fc.weight.std()) == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert float(fc.bias.abs().max()) > 0  # Xavier would leave it at 0
    for mlp in (model.embedder.projector, model.head.predictor):
        assert mlp.fc1.bias is not None
