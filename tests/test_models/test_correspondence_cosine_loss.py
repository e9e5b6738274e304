import torch

from objcon.models.losses import CorrespondenceCosineLoss


def _reference(q, k, mask):
    """-2 x mean over images of the mean cosine of matched slot pairs."""
    per_image = []
    for n in range(q.shape[0]):
        cos = [torch.nn.functional.cosine_similarity(q[n, i], k[n, j], dim=0)
               for i in range(q.shape[1]) for j in range(k.shape[1])
               if mask[n, i, j] > 0]
        per_image.append(torch.stack(cos).mean() if cos else torch.tensor(0.))
    return -2 * torch.stack(per_image).mean()


def test_loss_equals_minus_two_mean_matched_cosine():
    torch.manual_seed(0)
    q, k = torch.randn(3, 8, 16), torch.randn(3, 8, 16)
    mask = (torch.rand(3, 8, 8) > 0.8).float()
    mask[2] = 0  # an image without matches counts as 0
    got = CorrespondenceCosineLoss()(q, k, mask)
    assert torch.allclose(got, _reference(q, k, mask), atol=1e-5)


def test_perfect_matches_give_minus_two():
    x = torch.randn(2, 4, 8)
    assert torch.allclose(
        CorrespondenceCosineLoss()(x, 3 * x, torch.eye(4).expand(2, 4, 4)),
        torch.tensor(-2.), atol=1e-5)


def test_gradient_is_byol_two_minus_two_cos():
    torch.manual_seed(1)
    q = torch.randn(1, 1, 5, requires_grad=True)
    k = torch.randn(1, 1, 5)
    CorrespondenceCosineLoss()(q, k, torch.ones(1, 1, 1)).backward()
    q2 = q.detach().clone().requires_grad_(True)
    (2 - 2 * torch.nn.functional.cosine_similarity(q2[0, 0], k[0, 0], 0)).backward()
    assert torch.allclose(q.grad, q2.grad, atol=1e-6)
