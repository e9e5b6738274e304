"""CCOP's shared parts: queue, curriculum, box jitter, InfoNCE, intra-image loss."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub

from objcon.models.losses import InfoNCELoss, IntraImageMarginLoss
from objcon.models.utils import FeatureQueue, LinearCurriculum
from objcon.structures import jitter_candidates


def test_queue_enqueue_wraps_with_uneven_counts():
    queue = FeatureQueue(size=5, dim=2)
    assert torch.allclose(queue.features.norm(dim=1), torch.ones(5))
    rows = [F.normalize(torch.tensor([[1., i]]), dim=1) for i in range(9)]
    queue.enqueue(torch.cat(rows[:3]))  # slots 0..2
    queue.enqueue(torch.zeros(0, 2))  # nothing
    assert int(queue.ptr) == 3
    queue.enqueue(torch.cat(rows[3:7]))  # 3, 4, then wraps to 0, 1
    assert int(queue.ptr) == 2
    expected = torch.cat([rows[5], rows[6], rows[2], rows[3], rows[4]])
    assert torch.allclose(queue.features, expected)
    queue.enqueue(torch.cat([rows[7] * 3, rows[8]]))  # normalised on the way in
    assert torch.allclose(queue.features[2:4], torch.cat(rows[7:9]))
    assert int(queue.ptr) == 4


def test_queue_mean_cosine_of_distinct_pairs():
    queue = FeatureQueue(size=6, dim=3)
    torch.manual_seed(0)
    queue.enqueue(torch.randn(6, 3))
    f = queue.features
    sims = f @ f.t()
    brute = (sims.sum() - sims.diagonal().sum()) / (6 * 5)
    assert queue.mean_cosine() == pytest.approx(float(brute), abs=1e-6)
    queue.enqueue(torch.tensor([[0., 2., 0.]]).repeat(6, 1))  # collapsed keys
    assert queue.mean_cosine() == pytest.approx(1.0)
    queue.enqueue(torch.tensor([[1., 0., 0.], [-1., 0., 0.]] * 3))
    assert queue.mean_cosine() == pytest.approx(-0.2)  # 6 of 15 pairs equal


def test_queue_longer_batch_keeps_its_last_rows_and_state_is_saved():
    queue = FeatureQueue(size=3, dim=2)
    keys = F.normalize(torch.randn(7, 2, generator=torch.Generator().manual_seed(0)),
                       dim=1)
    queue.enqueue(keys)
    # as if written one by one: row i at slot i % 3
    assert torch.allclose(queue.features, keys[[6, 4, 5]], atol=1e-6)
    assert int(queue.ptr) == 1
    queue.enqueue(keys[:4])  # from slot 1: rows 0..3 -> slots 1, 2, 0, 1
    assert torch.allclose(queue.features, keys[[2, 3, 1]], atol=1e-6)
    assert int(queue.ptr) == 2
    state = queue.state_dict()
    assert set(state) == {'features', 'ptr'}
    with pytest.raises(ValueError, match='dim'):
        queue.enqueue(torch.zeros(2, 3))
    with pytest.raises(ValueError, match='size and dim'):
        FeatureQueue(size=0, dim=4)
    with pytest.raises(ValueError, match='temperature'):
        InfoNCELoss(temperature=0)
    with pytest.raises(ValueError, match='start, end'):
        LinearCurriculum(iou_floor=(0.8, ))


def test_curriculum_values_at_start_middle_end():
    cur = LinearCurriculum()  # CCOP's
    for t, expected in ((0, (0.8, 0.15, 0.35)), (0.5, (0.6, 0.375, 0.875)),
                        (1, (0.4, 0.6, 1.4))):
        values = cur.at(t)
        assert [values[k] for k in ('iou_floor', 'shift', 'log_scale')] == \
            pytest.approx(expected)
    assert cur.at(2) == cur.at(1)
    hub = MessageHub.get_instance('test_curriculum')
    hub.update_info('max_iters', 200)
    hub.update_info('iter', 50)
    assert LinearCurriculum.progress(hub) == 0.25


def test_jitter_candidates_ranges_and_clamp():
    g = torch.Generator().manual_seed(0)
    boxes = torch.tensor([[[20., 30., 60., 50.], [0., 0., 100., 80.]]])
    cands = jitter_candidates(boxes, (100, 80), num=200, shift=0.6,
                              log_scale=1.4, generator=g)
    assert cands.shape == (1, 2, 201, 4)
    assert torch.equal(cands[:, :, -1], boxes)  # the box itself, last
    assert (cands[..., 0::2] >= 0).all() and (cands[..., 0::2] <= 100).all()
    assert (cands[..., 1::2] >= 0).all() and (cands[..., 1::2] <= 80).all()
    # the first box stays inside the image: check the draws' ranges
    c = cands[0, 0, :-1]
    centre, wh = (c[:, :2] + c[:, 2:]) / 2, c[:, 2:] - c[:, :2]
    offset = (centre - torch.tensor([40., 40.])) / torch.tensor([40., 20.])
    assert offset.abs().max() <= 0.3 + 1e-5 and offset.abs().max() > 0.25
    ratio = (wh / torch.tensor([40., 20.])).log()
    inside = (c[:, :2] > 0).all(1) & (c[:, 2] < 100) & (c[:, 3] < 80)
    assert ratio[inside].abs().max() <= 0.7 + 1e-5
    assert ratio[inside].abs().max() > 0.5
    same = jitter_candidates(boxes, (100, 80), num=3, shift=0, log_scale=0)
    assert torch.allclose(same, boxes.unsqueeze(2).expand(-1, -1, 4, -1))


def test_info_nce_matches_formula_and_is_zero_without_queries():
    g = torch.Generator().manual_seed(1)
    q, k, neg = (torch.randn(n, 8, generator=g) for n in (3, 3, 5))
    loss = InfoNCELoss(temperature=0.2)(q, k, neg)
    qn, kn, nn_ = F.normalize(q, dim=1), F.normalize(k, dim=1), F.normalize(neg,
                                                                             dim=1)
    expected = 0.
    for i in range(3):
        logits = [float(qn[i] @ kn[i]) / 0.2] + \
            [float(qn[i] @ nn_[j]) / 0.2 for j in range(5)]
        expected -= logits[0] - math.log(sum(math.exp(x) for x in logits))
    assert float(loss) == pytest.approx(expected / 3, rel=1e-5)
    empty = InfoNCELoss()(torch.zeros(0, 8, requires_grad=True), torch.zeros(0, 8),
                          neg)
    assert float(empty.detach()) == 0.


def _intra_by_loop(sims, boxes, valid, margin=0.4, max_iou=0.05):
    from objcon.structures import box_iou
    total, count = 0., 0
    for n in range(sims.shape[0]):
        iou = box_iou(boxes[n].numpy().astype('float64'),
                      boxes[n].numpy().astype('float64'))
        for a in range(sims.shape[1]):
            for b in range(sims.shape[1]):
                if valid[n, a] and valid[n, b] and iou[a, b] < max_iou:
                    total += max(0., float(sims[n, a, b] - sims[n, b, b]) + margin)
                    count += 1
    return total / count if count else 0.


def test_intra_image_loss_against_loop_and_zero_without_pairs():
    g = torch.Generator().manual_seed(2)
    boxes = torch.tensor([[[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 70.],
                           [30., 0., 40., 10.]],
                          [[0., 0., 10., 10.], [20., 20., 30., 30.], [0., 0., 10., 10.],
                           [40., 40., 50., 50.]]])
    valid = torch.tensor([[True, True, True, True], [True, True, False, True]])
    sims = torch.rand(2, 4, 4, generator=g) * 2 - 1
    loss = IntraImageMarginLoss()(sims, boxes, valid)
    assert float(loss) == pytest.approx(_intra_by_loop(sims, boxes, valid), rel=1e-6)
    assert float(loss) > 0
    overlapping = torch.tensor([[[0., 0., 10., 10.], [1., 1., 10., 10.]]])
    sims1 = torch.rand(1, 2, 2, requires_grad=True)
    zero = IntraImageMarginLoss()(sims1, overlapping)
    assert float(zero) == 0. and not torch.isnan(zero)
    zero.backward()
    assert torch.isfinite(sims1.grad).all()
