import math

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import Runner
from mmpretrain.models.utils import CosineEMA
from torch import nn
from torch.nn.modules.module import register_module_forward_pre_hook

from objcon.models.utils import ForeachCosineEMA
from objcon.utils import register_all_modules
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize('update_buffers', [False, True])
def test_foreach_ema_equals_cosine_ema(update_buffers):
    MessageHub.get_current_instance().update_info('max_iters', 10)
    torch.manual_seed(0)
    online = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(),
                           nn.Linear(4, 2))
    kwargs = dict(momentum=0.01, end_momentum=0., update_buffers=update_buffers)
    ref, fast = CosineEMA(online, **kwargs), ForeachCosineEMA(online, **kwargs)
    for step in range(4):
        with torch.no_grad():
            for p in online.parameters():
                p.add_(torch.randn_like(p))
        online(torch.randn(2, 3, 3, 3))  # moves the BN running stats
        ref.update_parameters(online)
        fast.update_parameters(online)
        assert int(fast.steps) == int(ref.steps) == step + 1
        for (key, a), b in zip(ref.state_dict().items(),
                               fast.state_dict().values()):
            torch.testing.assert_close(b, a, rtol=0, atol=1e-7, msg=key)


# SoCo's momentum schedule (spec: /work/shared/spec/soco.md, "Optimisation").
BASE_TAU = 0.99


def soco_tau(k: int, max_iters: int) -> float:
    return 1 - (1 - BASE_TAU) * (math.cos(math.pi * k / max_iters) + 1) / 2


def _assert_params_equal(actual: dict, expected: dict, when: str) -> None:
    worst = max((float((actual[n].detach().double() - v).abs().max()), n)
                for n, v in expected.items())
    assert worst[0] < 1e-6, f'{when}: {worst[1]} is off by {worst[0]:.3g}'


def test_soco_target_follows_the_cosine_schedule_before_its_forward(
        tiny_demo_root, tiny_demo_proposals, monkeypatch):
    """The demo SoCo's EMA target, driven through the model's loss as training
    drives it, against an independent computation of the schedule: at call k,
    before the target's forward, target = tau(k) target + (1 - tau(k)) online
    (call 0 copies the online network)."""
    monkeypatch.setenv('OBJCON_DEMO_ROOT', tiny_demo_root)
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/objcon/soco_r18_fpn_demo.py')
    cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                persistent_workers=False)
    for transform in cfg.train_dataloader.dataset.pipeline:
        if transform['type'] == 'ObjectViews':  # small views, few boxes: fast
            transform['num_boxes'] = 2
            for view in transform['views']:
                view['size'] //= 4
    max_iters = 4
    MessageHub.get_current_instance().update_info('max_iters', max_iters)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('objcon'):
        batch = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
        model = MODELS.build(cfg.model)
    model.train()
    data = model.data_preprocessor(batch, True)

    # the averaged copy names its parameters as the online model does
    target = dict(model.target_net.module.named_parameters())
    online = {name: dict(model.named_parameters())[name] for name in target}
    target_modules = set(model.target_net.modules())
    seen_at_forward = []

    def snapshot(module, args):
        if module in target_modules and not seen_at_forward:
            seen_at_forward.append(
                {k: p.detach().double().clone() for k, p in target.items()})

    handle = register_module_forward_pre_hook(snapshot)
    expected = None
    try:
        for k in range(max_iters):
            with torch.no_grad():
                for p in online.values():
                    p.add_(0.1 * torch.randn_like(p))
            now = {name: p.detach().double().clone() for name, p in online.items()}
            if k == 0:
                expected = now
            else:
                tau = soco_tau(k, max_iters)
                expected = {n: tau * expected[n] + (1 - tau) * now[n] for n in now}
            seen_at_forward.clear()
            losses = model(**data, mode='loss')
            assert float(losses['momentum']) == pytest.approx(soco_tau(k, max_iters))
            assert seen_at_forward, 'the target network never ran'
            _assert_params_equal(seen_at_forward[0], expected, f'call {k}, forward')
            _assert_params_equal(target, expected, f'call {k}, after')
    finally:
        handle.remove()
