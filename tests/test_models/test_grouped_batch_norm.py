import copy

import pytest
import torch
from torch import nn

from objcon.models.utils import grouped_batch_norm, supports_grouped_batch_norm


def _net(momentum=0.1):
    return nn.Sequential(
        nn.Conv2d(4, 6, 3, padding=1, bias=False),
        nn.BatchNorm2d(6, momentum=momentum), nn.ReLU(), nn.Flatten(),
        nn.Linear(6 * 25, 8), nn.BatchNorm1d(8, momentum=momentum), nn.ReLU(),
        nn.Linear(8, 3))


@pytest.mark.parametrize('momentum', [0.1, None])
def test_grouped_equals_per_chunk_calls(momentum):
    torch.manual_seed(0)
    ref = _net(momentum)
    with torch.no_grad():  # non-trivial affine parameters and running stats
        for m in ref.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.num_batches_tracked.fill_(3)
    grouped = copy.deepcopy(ref)
    groups = 5
    x = torch.randn(groups * 6, 4, 5, 5) * 3 + 1
    weights = torch.randn(groups * 6, 3)

    x_ref = x.clone().requires_grad_()
    out_ref = torch.cat([ref(c) for c in x_ref.chunk(groups)])
    (out_ref * weights).sum().backward()

    x_grp = x.clone().requires_grad_()
    with grouped_batch_norm(grouped, groups):
        out_grp = grouped(x_grp)
    (out_grp * weights).sum().backward()

    torch.testing.assert_close(out_grp, out_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x_grp.grad, x_ref.grad, rtol=1e-4, atol=1e-5)
    for (name, p_ref), p_grp in zip(ref.named_parameters(), grouped.parameters()):
        torch.testing.assert_close(p_grp.grad, p_ref.grad, rtol=1e-4, atol=1e-5,
                                   msg=name)
    for (name, b_ref), b_grp in zip(ref.named_buffers(), grouped.buffers()):
        torch.testing.assert_close(b_grp, b_ref, rtol=1e-5, atol=1e-6, msg=name)
    # the patch is gone after the block: a plain call pools all rows again
    assert 'forward' not in vars(grouped[1])


def test_eval_mode_and_chunk_check():
    net = _net().eval()
    x = torch.randn(6, 4, 5, 5)
    expected = net(x)
    with grouped_batch_norm(net, 3):  # running stats: per sample, unchanged
        torch.testing.assert_close(net(x), expected)
    with pytest.raises(ValueError, match='equal chunks'):
        with grouped_batch_norm(net.train(), 4):
            net(x)


def test_sync_bn_is_not_grouped():
    net = _net()
    assert supports_grouped_batch_norm(net)
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert not supports_grouped_batch_norm(sync)
    with pytest.raises(ValueError, match='SyncBN'):
        with grouped_batch_norm(sync, 2):
            pass
