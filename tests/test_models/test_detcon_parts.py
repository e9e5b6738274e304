"""DetCon's parts: masks on the res5 grid, id sampling, mask pooling and the
multi-positive NCE (against an independent loop, and across two gloo ranks)."""
import math

import pytest
import torch

from objcon.models.losses import MultiPositiveNCELoss
from objcon.models.utils import label_maps_to_grid, mask_pool, sample_mask_ids
from tests.dist_utils import run_in_gloo_group


def test_grid_takes_the_majority_id_of_each_cell_smallest_on_a_tie():
    labels = torch.tensor([[5, 5, 1, 2],
                           [5, 300, 2, 2],
                           [7, 7, 9, 0],
                           [8, 8, 0, 9]])
    grid = label_maps_to_grid(labels[None], (2, 2))
    # top-left 3 x 5; top-right 3 x 2; bottom-left 7 and 8 tie; 0 and 9 tie
    assert grid.tolist() == [[[5, 2], [7, 0]]]
    # cells of a 7 x 7 grid over a 224 map are 32 x 32 windows (avg-pool 32)
    big = torch.zeros(1, 224, 224, dtype=torch.long)
    big[0, :32, :17] = 256  # 17 of 32 columns: the majority of cell (0, 0)
    big[0, 32:64, :16] = 9  # 16 of 32: a tie with 0, 0 wins
    grid = label_maps_to_grid(big, (7, 7))
    assert grid[0, 0, 0] == 256 and grid[0, 1, 0] == 0
    assert (grid[0].flatten()[1:] == 0).all()


def test_grid_of_a_map_smaller_than_the_grid_is_refused():
    with pytest.raises(ValueError, match='cannot be pooled'):
        label_maps_to_grid(torch.zeros(1, 3, 3, dtype=torch.long), (7, 7))


def test_ids_are_drawn_uniformly_among_present_ones():
    grid = torch.tensor([[3, 3, 3, 3, 3, 3, 40, 1000, -1],
                         [-1] * 9])
    ids = sample_mask_ids(grid, 30000, torch.Generator().manual_seed(0))
    assert ids.shape == (2, 30000)
    assert (ids[1] == -1).all()  # nothing present
    values, counts = ids[0].unique(return_counts=True)
    assert values.tolist() == [3, 40, 1000]  # never an absent or negative id
    # uniform over present ids, not weighted by area (3 covers 6 cells)
    assert (counts.float() / 30000 - 1 / 3).abs().max() < 0.02


def test_mask_pool_is_the_mean_over_the_segment_cells():
    feats = torch.randn(2, 5, 3, 3)
    grid = torch.tensor([[[1, 1, 2], [2, 2, 2], [7, 7, 7]],
                         [[0, 0, 0], [0, 0, 0], [0, 0, 4]]])
    ids = torch.tensor([[2, 7, 1, 99], [4, 0, 0, 4]])
    pooled, area = mask_pool(feats, grid, ids)
    assert area.tolist() == [[4, 3, 2, 0], [1, 8, 8, 1]]
    for n in range(2):
        for k in range(4):
            cells = grid[n] == ids[n, k]
            expected = feats[n][:, cells].mean(1) if cells.any() else \
                torch.zeros(5)
            assert torch.allclose(pooled[n, k], expected, atol=1e-6)


def loop_nce(pred, ids, same, other, other_ids, offset, tau):
    """One direction of DetCon's loss by explicit loops over slots."""
    batch, slots, _ = pred.shape
    unit = lambda v: v / v.norm()  # noqa: E731
    total = 0.
    for b in range(batch):
        g = offset + b  # the image's row in the gathered targets
        for k in range(slots):
            p = unit(pred[b, k])
            logits, positives = [], []
            for n in range(other.shape[0]):
                for m in range(slots):
                    logits.append(float(p @ unit(other[n, m])) / tau)
                    if n == g and other_ids[b, m] == ids[b, k]:
                        positives.append(len(logits) - 1)
            for n in range(same.shape[0]):
                for m in range(slots):
                    if n == g and ids[b, m] == ids[b, k]:
                        continue  # own target and its duplicates
                    logits.append(float(p @ unit(same[n, m])) / tau)
            if not positives:
                continue
            top = max(logits)
            log_z = top + math.log(sum(math.exp(v - top) for v in logits))
            ce = -sum(logits[i] - log_z for i in positives) / len(positives)
            duplicates = int((ids[b] == ids[b, k]).sum())
            total += ce / duplicates
    return total / (batch * slots)


def make_batch(seed, batch=3, slots=4, dim=6, num_ids=4):
    g = torch.Generator().manual_seed(seed)
    tensors = [torch.randn(batch, slots, dim, generator=g) for _ in range(4)]
    # few ids: duplicates within a view and ids absent from the other view
    ids = [torch.randint(0, num_ids, (batch, slots), generator=g) for _ in range(2)]
    return tensors, ids


def test_loss_equals_an_independent_loop_with_duplicates():
    (pa, pb, ta, tb), (ia, ib) = make_batch(0)
    ia[0] = torch.tensor([2, 2, 2, 1])  # one id drawn three times
    ib[0] = torch.tensor([2, 3, 3, 0])  # 1 absent from view b: no positive
    ib[1] = torch.tensor([5, 5, 5, 5])  # nothing of view a: weight 0 everywhere
    loss = MultiPositiveNCELoss(temperature=0.1, loss_weight=0.5)
    got = loss(pa, pb, ta, tb, ia, ib)
    expected = (loop_nce(pa, ia, ta, tb, ib, 0, 0.1) +
                loop_nce(pb, ib, tb, ta, ia, 0, 0.1))
    assert got.item() == pytest.approx(0.5 * expected, rel=1e-5)


def test_gradient_flows_to_predictions_only():
    (pa, pb, ta, tb), (ia, ib) = make_batch(1)
    pa.requires_grad_(True)
    ta.requires_grad_(True)
    MultiPositiveNCELoss()(pa, pb, ta, tb, ia, ib).backward()
    assert pa.grad is not None and pa.grad.abs().sum() > 0
    assert ta.grad is None


def _rank_loss(rank):
    tensors, ids = make_batch(2, batch=6)
    rows = slice(3 * rank, 3 * rank + 3)
    return MultiPositiveNCELoss(temperature=0.1)(
        *(t[rows] for t in tensors), *(i[rows] for i in ids)).item()


@pytest.mark.slow  # launches processes
def test_two_ranks_take_negatives_from_both_batches(tmp_path):
    out = run_in_gloo_group(_rank_loss, tmp_path)
    (pa, pb, ta, tb), (ia, ib) = make_batch(2, batch=6)
    for rank in range(2):
        rows = slice(3 * rank, 3 * rank + 3)
        expected = (
            loop_nce(pa[rows], ia[rows], ta, tb, ib[rows], 3 * rank, 0.1) +
            loop_nce(pb[rows], ib[rows], tb, ta, ia[rows], 3 * rank, 0.1))
        assert out[rank] == pytest.approx(expected, rel=1e-5), rank
        # and not the loss of the rank's batch alone
        alone = MultiPositiveNCELoss(temperature=0.1)(
            pa[rows], pb[rows], ta[rows], tb[rows], ia[rows], ib[rows]).item()
        assert abs(out[rank] - alone) > 1e-3
