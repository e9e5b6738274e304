"""A MoCo-style queue of past key features (negatives of an InfoNCE loss)."""
import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_world_size
from torch import Tensor, nn


class FeatureQueue(nn.Module):
    """A fixed-size ring of L2-normalised feature vectors.

    Each step enqueues the keys of the whole batch: from every rank when
    distributed (all-gathered, each rank may contribute a different number of
    rows, e.g. the valid boxes of its images), in rank order. Writing starts at
    the pointer and wraps around the end of the queue, so every key is kept
    exactly once until overwritten. MoCo's and CCOP's reference code writes
    ``queue[ptr:ptr + n]`` and, with a variable count, truncates what overflows
    the end; objcon wraps instead, so no key is dropped and the queue's age
    structure (oldest keys replaced first) holds for any count. A batch with
    more rows than the queue keeps its last ``size`` rows, where writing them
    one by one would have left them.

    ``features`` and ``ptr`` are registered buffers: checkpoints (and
    ``--resume``) keep the queue's content and position. The queue starts with
    random unit vectors, as MoCo's.

    Args:
        size (int): Number of stored vectors.
        dim (int): Feature dimension.
    """

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f'queue size and dim must be >= 1, got {size}, {dim}')
        self.size = int(size)
        self.register_buffer('features',
                             F.normalize(torch.randn(self.size, dim), dim=1))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys: Tensor) -> None:
        """Write ``keys`` of every rank after the newest entries, wrapping.

        Args:
            keys (Tensor): (n, dim) features of this rank (normalised here);
                n may be 0 and may differ between ranks.
        """
        if keys.dim() != 2 or keys.shape[1] != self.features.shape[1]:
            raise ValueError(f'keys of shape {tuple(keys.shape)} for a queue of '
                             f'dim {self.features.shape[1]}')
        keys = F.normalize(keys.detach().to(self.features.dtype), dim=1)
        if get_world_size() > 1:
            keys = torch.cat(_all_gather_rows(keys))
        n = keys.shape[0]
        if n == 0:
            return
        # as if written one by one: only the last `size` rows survive
        kept = min(n, self.size)
        start = self.ptr + n - kept
        index = (start + torch.arange(kept, device=keys.device)) % self.size
        self.features.index_copy_(0, index, keys[n - kept:])
        self.ptr.copy_((self.ptr + n) % self.size)

    @torch.no_grad()
    def mean_cosine(self) -> float:
        """Mean cosine between two different stored vectors: a health scalar.

        The keys of a healthy run stay spread; when the embeddings collapse
        onto one direction (seen in CPU-length runs with small batches and
        queues, docs/ccop.md) it climbs toward 1, earlier than the loss shows
        it. The random vectors the queue starts with give about 0. Exact and
        O(size x dim): the sum over pairs i != j of x_i . x_j is
        ||sum_i x_i||^2 - size for unit vectors.
        """
        n = self.size
        if n < 2:
            return float('nan')
        total = self.features.float().sum(0)
        return float((total.dot(total) - n) / (n * (n - 1)))


def _all_gather_rows(x: Tensor) -> list:
    """Rows of ``x`` from every rank, each rank with its own row count."""
    count = torch.tensor([x.shape[0]], device=x.device)
    counts = [int(c) for c in all_gather(count)]
    padded = x.new_zeros(max(counts), x.shape[1])
    padded[:x.shape[0]] = x
    return [t[:c] for t, c in zip(all_gather(padded), counts)]
