import pytest
import torch
from mmengine.logging import MessageHub
from mmpretrain.models.utils import CosineEMA
from torch import nn

from objcon.models.utils import ForeachCosineEMA


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
