"""forward_shuffled (MoCo's shuffle-BN): rows come back in order; with two gloo
processes the key branch sees images of both ranks."""
import datetime
import multiprocessing

import pytest
import torch

from objcon.models.utils import forward_shuffled


def _rows(rank, n=4):
    # patch sets (N, P, C): each image's patches travel together
    return (rank * 100 + torch.arange(n * 3.)).view(n, 3, 1)


def _branch(seen):
    def fn(x):
        seen.append(x.clone())
        return x * 2, x.sum((1, 2))
    return fn


def test_one_process_runs_in_order():
    seen = []
    x = _rows(0)
    doubled, sums = forward_shuffled(_branch(seen), x)
    assert torch.equal(seen[0], x)
    assert torch.equal(doubled, x * 2) and torch.equal(sums, x.sum((1, 2)))


def _rank_main(rank, rendezvous, results):
    import torch.distributed as dist
    # a file rendezvous: no TCP port to race other jobs for
    dist.init_process_group('gloo', init_method=f'file://{rendezvous}', rank=rank,
                            world_size=2, timeout=datetime.timedelta(seconds=60))
    try:
        torch.manual_seed(0)
        seen = []
        x = _rows(rank)
        doubled, sums = forward_shuffled(_branch(seen), x)
        results.put((rank, seen[0], doubled, sums, x))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # launches processes
def test_two_ranks_shuffle_the_batch_and_restore_each_rank_rows(tmp_path):
    ctx = multiprocessing.get_context('spawn')
    results = ctx.Queue()
    rendezvous = str(tmp_path / 'rendezvous')
    procs = [ctx.Process(target=_rank_main, args=(rank, rendezvous, results))
             for rank in range(2)]
    for p in procs:
        p.start()
    try:
        out = sorted((results.get(timeout=120) for _ in procs),
                     key=lambda r: r[0])
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    for _, seen, doubled, sums, x in out:
        assert seen.shape == x.shape
        assert torch.equal(doubled, x * 2) and torch.equal(sums, x.sum((1, 2)))
    # the branch ran on a permutation of both ranks' images, whole patch sets
    seen_all = torch.cat([r[1] for r in out])
    given = torch.cat([r[4] for r in out])
    key = lambda t: sorted(map(tuple, t.flatten(1).tolist()))  # noqa: E731
    assert key(seen_all) == key(given)
    assert not torch.equal(seen_all, given)
