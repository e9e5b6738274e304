import pytest
import torch

from objcon.engine.optimizers import SoCoLARS


def test_update_on_a_toy_tensor_equals_the_formula():
    w0 = torch.tensor([[3.0, -4.0]])  # ||w|| = 5
    g = torch.tensor([[0.5, 1.0]])
    w = torch.nn.Parameter(w0.clone())
    b = torch.nn.Parameter(torch.tensor([1.0, 2.0]))  # 1-d: plain SGD
    opt = SoCoLARS([w, b], lr=0.1, momentum=0.9, weight_decay=1e-5, eta=0.001)
    for step in range(2):
        w.grad = g.clone()
        b.grad = torch.tensor([0.2, 0.4])
        opt.step()
        if step == 0:
            d = g + 1e-5 * w0
            trust = 0.001 * w0.norm() / (d.norm() + 1e-8)
            buf = d * trust
            expected_w1 = w0 - 0.1 * buf
            assert torch.allclose(w.detach(), expected_w1, atol=1e-7)
            assert torch.allclose(b.detach(), torch.tensor([0.98, 1.96]))
    # second step: momentum on the scaled gradient of the new weights
    d = g + 1e-5 * expected_w1
    trust = 0.001 * expected_w1.norm() / (d.norm() + 1e-8)
    buf = 0.9 * buf + d * trust
    assert torch.allclose(w.detach(), expected_w1 - 0.1 * buf, atol=1e-7)


def test_differs_from_mmpretrain_lars_denominator():
    from mmpretrain.engine.optimizers import LARS
    w0 = torch.tensor([[3.0, -4.0]])
    g = torch.tensor([[0.5, 1.0]])
    results = []
    for cls, kw in ((SoCoLARS, {}), (LARS, dict(eta=0.001))):
        w = torch.nn.Parameter(w0.clone())
        opt = cls([w], lr=0.1, momentum=0.9, weight_decay=0.1, **kw)
        w.grad = g.clone()
        opt.step()
        results.append(w.detach())
    assert not torch.allclose(results[0], results[1])


def test_zero_norm_uses_factor_one():
    w = torch.nn.Parameter(torch.zeros(2, 2))
    opt = SoCoLARS([w], lr=1.0, momentum=0.0, weight_decay=0.0)
    w.grad = torch.ones(2, 2)
    opt.step()
    assert torch.allclose(w.detach(), -torch.ones(2, 2))


def test_bad_hyper_parameters_are_refused():
    with pytest.raises(ValueError):
        SoCoLARS([torch.nn.Parameter(torch.zeros(1))], lr=-1)
