"""forward_shuffled (MoCo's shuffle-BN): rows come back in order; with two gloo
processes the key branch sees images of both ranks, each with its own per-image
tensors (e.g. boxes)."""
import pytest
import torch

from objcon.models.utils import forward_shuffled
from tests.dist_utils import run_in_gloo_group


def _rows(rank, n=4):
    # patch sets (N, P, C): each image's patches travel together
    return (rank * 100 + torch.arange(n * 3.)).view(n, 3, 1)


def _boxes(x):
    # a per-image tensor that names its image: (N, 2, 4) from each image's first
    # value
    return x[:, :1, :1].expand(-1, 2, 4) + 0.5


def _branch(seen):
    def fn(x, *boxes):
        seen.append(x.clone())
        # with boxes: also how far each image's boxes are from its own (0 when
        # they travelled together) and the boxes themselves
        return (x * 2, x.sum((1, 2)),
                *[out for b in boxes for out in (b - _boxes(x), b)])
    return fn


def test_one_process_runs_in_order():
    seen = []
    x = _rows(0)
    doubled, sums = forward_shuffled(_branch(seen), x)
    assert torch.equal(seen[0], x)
    assert torch.equal(doubled, x * 2) and torch.equal(sums, x.sum((1, 2)))
    *_, mismatch, boxes = forward_shuffled(_branch([]), x, _boxes(x))
    assert not mismatch.any() and torch.equal(boxes, _boxes(x))


def _rank_shuffled(rank):
    torch.manual_seed(0)
    seen = []
    x = _rows(rank)
    outputs = forward_shuffled(_branch(seen), x, _boxes(x))
    return (rank, seen[0], *outputs, x)


@pytest.mark.slow  # launches processes
def test_two_ranks_shuffle_the_batch_and_restore_each_rank_rows(tmp_path):
    out = run_in_gloo_group(_rank_shuffled, tmp_path)
    for _, seen, doubled, sums, mismatch, boxes, x in out:
        assert seen.shape == x.shape
        assert torch.equal(doubled, x * 2) and torch.equal(sums, x.sum((1, 2)))
        # each image was encoded with its own boxes, which came back in order
        assert not mismatch.any() and torch.equal(boxes, _boxes(x))
    # the branch ran on a permutation of both ranks' images, whole patch sets
    seen_all = torch.cat([r[1] for r in out])
    given = torch.cat([r[-1] for r in out])
    key = lambda t: sorted(map(tuple, t.flatten(1).tolist()))  # noqa: E731
    assert key(seen_all) == key(given)
    assert not torch.equal(seen_all, given)
