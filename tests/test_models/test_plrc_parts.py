"""PLRC's shared parts: points from label maps, features at points, position pairs,
SupCon, centred distillation, the image loss's positive."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from objcon.models.losses import (CentredDistillationLoss, InfoNCELoss,
                                  SupConLoss)
from objcon.models.utils import (close_position_pairs, features_at_points,
                                 sample_common_region_points)


def _asymmetric_maps(batch, h, w, seed):
    """Label maps of 4 x 4 grids over random windows: regions differ between
    rows and columns, the maps are not square."""
    g = np.random.RandomState(seed)
    maps = []
    for _ in range(batch):
        x0, y0 = g.uniform(0, 0.5, 2)
        xs = x0 + (np.arange(w) + 0.5) / w * 0.5
        ys = y0 + (np.arange(h) + 0.5) / h * 0.5
        maps.append((np.floor(ys * 4)[:, None] * 4 + np.floor(xs * 4)[None]))
    return torch.as_tensor(np.stack(maps), dtype=torch.int32)


def _bilinear(feat, x, y):
    """Independent bilinear read of feat (C, H, W) at continuous (x, y) in
    feature pixels (centres at +0.5), border-clamped."""
    c, h, w = feat.shape
    fx, fy = min(max(x - 0.5, 0), w - 1), min(max(y - 0.5, 0), h - 1)
    x0, y0 = int(math.floor(fx)), int(math.floor(fy))
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    ax, ay = fx - x0, fy - y0
    return ((1 - ax) * (1 - ay) * feat[:, y0, x0] + ax * (1 - ay) * feat[:, y0, x1]
            + (1 - ax) * ay * feat[:, y1, x0] + ax * ay * feat[:, y1, x1])


@pytest.mark.parametrize('seed', range(5))
def test_points_lie_in_the_common_cell_of_both_views(seed):
    maps_a = _asymmetric_maps(6, 10, 14, seed)
    maps_b = _asymmetric_maps(6, 12, 9, seed + 100)
    gen = torch.Generator().manual_seed(seed)
    pa, pb, regions, valid = sample_common_region_points(maps_a, maps_b, 32, gen)
    assert pa.shape == (6, 32, 2) and pb.shape == (6, 32, 2)
    for i in range(6):
        common = set(maps_a[i].unique().tolist()) & set(maps_b[i].unique().tolist())
        assert bool(valid[i]) == bool(common)
        if not common:
            continue
        assert int(regions[i]) in common
        for pts, labels in ((pa[i], maps_a[i]), (pb[i], maps_b[i])):
            # (x, y): column from x, row from y
            cols = (pts[:, 0] - 0.5).long()
            rows = (pts[:, 1] - 0.5).long()
            assert (labels[rows, cols] == regions[i]).all()


def test_no_common_cell_marks_the_image_invalid():
    a = torch.zeros(1, 4, 6, dtype=torch.int32)
    b = torch.ones(1, 4, 6, dtype=torch.int32)
    _, _, regions, valid = sample_common_region_points(a, b, 8)
    assert not valid[0] and regions[0] == -1


def test_features_at_points_read_x_along_the_width():
    torch.manual_seed(0)
    feats = torch.randn(2, 3, 5, 8)  # non-square: H 5, W 8
    map_hw = (10, 16)  # the label map of the same view, 2x finer
    points = torch.rand(2, 7, 2) * torch.tensor([16., 10.])
    out = features_at_points(feats, points, map_hw)
    assert out.shape == (2, 7, 3)
    for b in range(2):
        for p in range(7):
            x, y = points[b, p].tolist()
            expected = _bilinear(feats[b], x * 8 / 16, y * 5 / 10)
            torch.testing.assert_close(out[b, p], expected, rtol=1e-5, atol=1e-5)


def test_features_at_points_at_pixel_centres_are_the_pixels():
    feats = torch.arange(2 * 4 * 6, dtype=torch.float32).view(1, 2, 4, 6)
    # an asymmetric point: row 1, column 4 of the 4 x 6 map
    out = features_at_points(feats, torch.tensor([[[4.5, 1.5]]]), (4, 6))
    torch.testing.assert_close(out[0, 0], feats[0, :, 1, 4])


def _supcon_loop(z, labels, tau, base):
    z = F.normalize(z, dim=1).double()
    total, count = 0., 0
    for i in range(len(z)):
        others = [a for a in range(len(z)) if a != i]
        pos = [p for p in others if labels[p] == labels[i]]
        if not pos:
            continue
        denom = sum(math.exp(float(z[i] @ z[a]) / tau) for a in others)
        total += -sum(float(z[i] @ z[p]) / tau - math.log(denom)
                      for p in pos) / len(pos)
        count += 1
    return tau / base * total / count


def test_sup_con_matches_an_independent_loop():
    torch.manual_seed(1)
    z = torch.randn(13, 5, requires_grad=True)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4, 5])  # 3 and 5 alone
    loss = SupConLoss(temperature=0.2, base_temperature=0.07, loss_weight=0.5)(
        z, labels)
    assert float(loss) == pytest.approx(0.5 * _supcon_loop(z.detach(), labels,
                                                           0.2, 0.07), rel=1e-5)
    loss.backward()
    assert torch.isfinite(z.grad).all()
    zero = SupConLoss()(z, torch.arange(13))  # no positives: 0, in the graph
    assert float(zero) == 0 and zero.requires_grad


@pytest.mark.parametrize('epoch,expected', [
    (0, 0.04), (15, 0.04 + 0.03 * 15 / 29), (29, 0.07), (30, 0.07), (40, 0.07)])
def test_teacher_temperature_schedule(epoch, expected):
    loss = CentredDistillationLoss(dim=3, teacher_temperature=(0.04, 0.07),
                                   warmup_epochs=30)
    assert loss.teacher_temperature_at(epoch) == pytest.approx(expected)


def test_teacher_temperature_follows_the_runner_epoch():
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    old = hub.get_info('epoch')
    hub.update_info('epoch', 15)
    try:
        assert CentredDistillationLoss(dim=3).current_epoch() == 15
    finally:  # later tests run outside a Runner: epoch 0
        hub.update_info('epoch', old or 0)


def test_distillation_uses_the_old_centre_then_updates_it():
    torch.manual_seed(2)
    loss = CentredDistillationLoss(dim=6, student_temperature=0.1,
                                   centre_momentum=0.9, loss_weight=1.)
    old = torch.randn(1, 6)
    loss.centre.copy_(old)
    student, teacher = torch.randn(5, 6), torch.randn(5, 6)
    value = loss(student, teacher, epoch=40)  # tau_t 0.07
    target = F.softmax((teacher - old) / 0.07, -1)
    expected = -(target * F.log_softmax(student / 0.1, -1)).sum(-1).mean()
    assert float(value) == pytest.approx(float(expected), rel=1e-5)
    torch.testing.assert_close(loss.centre, 0.9 * old + 0.1 * teacher.mean(0))
    assert 'centre' in dict(loss.named_buffers())  # kept by checkpoints
    before = loss.centre.clone()
    loss(student[:0], teacher[:0], epoch=0)  # nothing to average: no move
    torch.testing.assert_close(loss.centre, before)


def test_image_loss_positive_is_index_zero_for_every_query():
    torch.manual_seed(3)
    q, k, negatives = torch.randn(4, 8), torch.randn(4, 8), torch.randn(10, 8)
    value = InfoNCELoss(temperature=0.2)(q, k, negatives)
    qn, kn, nn_ = (F.normalize(x, dim=1) for x in (q, k, negatives))
    expected = 0.
    for i in range(4):  # each query's own key is its positive
        pos = float(qn[i] @ kn[i]) / 0.2
        neg = [float(qn[i] @ n) / 0.2 for n in nn_]
        expected += -(pos - math.log(math.exp(pos) + sum(map(math.exp, neg))))
    assert float(value) == pytest.approx(expected / 4, rel=1e-5)


def test_position_pairs_follow_crops_and_flips():
    crops = torch.tensor([[10., 20., 50., 60.]])
    no, yes = torch.tensor([False]), torch.tensor([True])
    b, i, j = close_position_pairs(crops, no, crops, no, (4, 5))
    assert b.tolist() == [0] * 20 and i.tolist() == j.tolist() == list(range(20))
    # the same crop mirrored: position (r, c) shows (r, w - 1 - c)
    _, i, j = close_position_pairs(crops, no, crops, yes, (4, 5))
    assert [(int(a) // 5, 4 - int(a) % 5) for a in i] == \
        [(int(a) // 5, int(a) % 5) for a in j]
    # a crop shifted by one cell to the right: column c of a is column c - 1 of b
    shifted = torch.tensor([[18., 20., 58., 60.]])
    _, i, j = close_position_pairs(crops, no, shifted, no, (4, 5))
    assert len(i) == 16 and ((i - j) == 1).all()
