"""DetCo: the three loss terms of every stage against an independent computation,
queues, EMA, a backward step and clear errors."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub

from objcon.models.algorithms import DetCo
from objcon.registry import MODELS
from objcon.utils import register_all_modules

BN = dict(type='BN', requires_grad=True)
CHANNELS = (64, 128, 256, 512)
WEIGHTS = (0.1, 0.4, 0.7, 1.0)
TAU = 0.2


def tiny_detco_cfg(queue_size=8, patches=9, **kwargs):
    head = dict(type='ProjectionMLP', hid_channels=32, out_channels=16, dropout=0.)
    cfg = dict(
        type='DetCo',
        backbone=dict(type='mmdet.ResNet', depth=18, out_indices=(0, 1, 2, 3),
                      norm_cfg=BN, norm_eval=False, zero_init_residual=False),
        global_head=head, local_head=head, in_channels=CHANNELS,
        stage_weights=WEIGHTS, num_patches=patches,
        loss=dict(type='InfoNCELoss', temperature=TAU), queue_size=queue_size,
        feat_dim=16)
    cfg.update(kwargs)
    return cfg


def _views(n=3, size=48, patch=20, patches=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 3, size, size, generator=g) for _ in range(2)] + \
        [torch.randn(n, 3, patch, patch, generator=g) for _ in range(2 * patches)]


@pytest.fixture(scope='module')
def registered():
    register_all_modules()
    MessageHub.get_current_instance().update_info('max_iters', 10)


def _info_nce(q, k, queue):
    """-log softmax of the positive, one query at a time, in float64."""
    out = []
    for qi, ki in zip(q.double(), k.double()):
        qi, ki = qi / qi.norm(), ki / ki.norm()
        logits = [qi @ ki] + [qi @ (n / n.norm()) for n in queue.double()]
        logits = torch.stack(logits) / TAU
        out.append(torch.logsumexp(logits, 0) - logits[0])
    return torch.stack(out).mean()


def _representations(model, branch, views, patch_sets):
    """Global and local representations per stage, image by image, patch by
    patch (the model runs them as batches; eval-mode BN makes it the same)."""
    glob, local = [], []
    for img, patches in zip(views, patch_sets):
        levels = branch['backbone'](img[None])
        glob.append([h((x, ))[0][0] for h, x in zip(branch['global_heads'], levels)])
        pooled = [branch['backbone'](p[None]) for p in patches]  # P x stages
        per_stage = []
        for s, head in enumerate(branch['local_heads']):
            concat = torch.cat([F.adaptive_avg_pool2d(levels_p[s], 1).flatten()
                                for levels_p in pooled])
            per_stage.append(head((concat[None], ))[0][0])
        local.append(per_stage)
    return ([torch.stack([g[s] for g in glob]) for s in range(4)],
            [torch.stack([l_[s] for l_ in local]) for s in range(4)])


def test_three_terms_per_stage_match_an_independent_computation(registered):
    torch.manual_seed(0)
    model = MODELS.build(tiny_detco_cfg())
    assert isinstance(model, DetCo)
    model.eval()  # BN on running statistics: per-image loops equal batches
    inputs = _views()
    queues = [(q.features.clone(), l_.features.clone())
              for q, l_ in zip(model.global_queues, model.local_queues)]
    with torch.no_grad():
        losses = model.loss(inputs, [])
        # step 0 of the EMA copied the online modules into the target
        x3 = torch.stack(inputs[2:11], 1)
        x4 = torch.stack(inputs[11:20], 1)
        q_g, q_l = _representations(model, model.online_modules(), inputs[0], x3)
        k_g, k_l = _representations(model, model.target, inputs[1], x4)
    assert set(losses) == {f'loss_res{s}_{t}' for s in (2, 3, 4, 5)
                           for t in ('g2g', 'l2l', 'l2g')} | {
                               'momentum', 'global_queue_cosine',
                               'local_queue_cosine'}
    for s, w in enumerate(WEIGHTS):
        gq, lq = queues[s]
        expected = dict(g2g=_info_nce(q_g[s], k_g[s], gq),
                        l2l=_info_nce(q_l[s], k_l[s], lq),
                        l2g=_info_nce(q_l[s], k_g[s], gq))
        for term, value in expected.items():
            got = losses[f'loss_res{s + 2}_{term}']
            assert got.item() == pytest.approx(w * value.item(), rel=1e-4), \
                (s, term)
        # the keys entered their queues (normalised), after the loss read them
        n = len(inputs[0])
        torch.testing.assert_close(model.global_queues[s].features[:n],
                                   F.normalize(k_g[s], dim=1), atol=1e-5,
                                   rtol=1e-4)
        torch.testing.assert_close(model.local_queues[s].features[:n],
                                   F.normalize(k_l[s], dim=1), atol=1e-5,
                                   rtol=1e-4)
        torch.testing.assert_close(model.global_queues[s].features[n:], gq[n:])
        assert int(model.local_queues[s].ptr) == n


def test_backward_step_moves_online_and_ema_target(registered):
    torch.manual_seed(0)
    model = MODELS.build(tiny_detco_cfg())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    inputs = _views(n=4)
    before = {k: v.clone() for k, v in model.target.state_dict().items()}
    for _ in range(2):
        losses = model.loss(inputs, [])
        total = sum(v for k, v in losses.items() if 'loss' in k)
        opt.zero_grad()
        total.backward()
        opt.step()
    # every head of every stage (global and local) and the backbone learn
    for name in ('global_heads.0.mlp.0.weight', 'local_heads.3.mlp.3.weight',
                 'backbone.layer1.0.conv1.weight'):
        assert model.get_parameter(name).grad.abs().sum() > 0, name
    assert not any(p.requires_grad for p in model.target.parameters())
    after = model.target.state_dict()
    assert not torch.equal(after['local_heads.3.mlp.0.weight'],
                           before['local_heads.3.mlp.0.weight'])
    assert losses['momentum'].item() == pytest.approx(0.999)
    assert all(int(q.ptr) == 8 % 8 for q in model.global_queues)
    assert losses['global_queue_cosine'].item() == pytest.approx(
        model.global_queues[-1].mean_cosine())
    assert losses['local_queue_cosine'].item() == pytest.approx(
        model.local_queues[-1].mean_cosine())


def test_bad_settings_and_inputs_raise_clear_errors(registered):
    with pytest.raises(ValueError, match='3 stage weights for 4 stages'):
        MODELS.build(tiny_detco_cfg(stage_weights=(0.1, 0.4, 1.0)))
    with pytest.raises(ValueError, match='outputs'):
        cfg = tiny_detco_cfg()
        cfg['backbone']['out_indices'] = (3, )
        MODELS.build(cfg)
    with pytest.raises(ValueError, match='not all 0'):
        MODELS.build(tiny_detco_cfg(stage_weights=(0, 0, 0, 0)))
    model = MODELS.build(tiny_detco_cfg())
    with pytest.raises(ValueError, match='20 views'):
        model.loss(_views()[:2], [])
    views = _views()
    views[5] = views[5][..., :16, :16]
    with pytest.raises(ValueError, match='same size'):
        model.loss(views, [])
