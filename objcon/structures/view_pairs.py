"""The boxes of the contrasted pairs of views, as one typed structure.

``ObjectViews`` makes, per image, the views and for each pair of views (a, b) K box
slots in each view; ``PackObjectViews`` stores them in the data sample as a
:class:`ViewPairs`; the data preprocessor moves it to the device with the sample
(it has ``.to``) and the model stacks the batch with :meth:`ViewPairs.stack`.
"""
from dataclasses import dataclass, fields
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .pair_slots import PairSlotSampler
from .view_geometry import boxes_from_view, boxes_to_view


class ViewPair(NamedTuple):
    """One pair of views over a batch: view indices and (N, K) slots of each."""
    a: int
    b: int
    boxes_a: Tensor  # (N, K, 4) float32 xyxy in view a's pixels
    ids_a: Tensor  # (N, K) int64
    boxes_b: Tensor  # (N, K, 4) float32 xyxy in view b's pixels
    ids_b: Tensor  # (N, K) int64


@dataclass
class ViewPairs:
    """Box slots of every pair of views, of one image or of a batch.

    For one image the box tensors are (P, K, 4) and the ids (P, K); stacked over
    a batch of N images they are (N, P, K, 4) and (N, P, K). Slot k of view a
    and slot k' of view b show the same object iff their ids are equal.

    Args:
        views (tuple[tuple[int, int], ...]): (a, b) view indices of each pair.
        boxes_a (Tensor): Boxes in view a's pixels (xyxy float32).
        ids_a (Tensor): Proposal id of each of view a's slots (int64).
        boxes_b (Tensor): Boxes in view b's pixels.
        ids_b (Tensor): Proposal id of each of view b's slots.
    """
    views: Tuple[Tuple[int, int], ...]
    boxes_a: Tensor
    ids_a: Tensor
    boxes_b: Tensor
    ids_b: Tensor

    def __post_init__(self) -> None:
        self.views = tuple((int(a), int(b)) for a, b in self.views)
        lead = self.ids_a.shape
        if len(lead) < 2 or lead[-2] != len(self.views):
            raise ValueError(f'ids of shape {tuple(lead)} for {len(self.views)} '
                             'pairs: expected (..., P, K)')
        for name, shape in (('ids_b', lead), ('boxes_a', (*lead, 4)),
                            ('boxes_b', (*lead, 4))):
            if tuple(getattr(self, name).shape) != tuple(shape):
                raise ValueError(f'{name} has shape '
                                 f'{tuple(getattr(self, name).shape)}, expected '
                                 f'{tuple(shape)}')

    @classmethod
    def from_slots(cls, views: Sequence[Tuple[int, int]],
                   slots: Sequence[Sequence[np.ndarray]]) -> 'ViewPairs':
        """One image's structure from per-pair arrays.

        Args:
            views (Sequence[tuple[int, int]]): (a, b) of each pair.
            slots (Sequence): Per pair ``(boxes_a, ids_a, boxes_b, ids_b)`` with
                (K, 4) boxes in the views' pixels and (K,) ids.

        Returns:
            ViewPairs: (P, K, 4) boxes and (P, K) ids.
        """
        def stack(j: int, dtype) -> Tensor:
            return torch.from_numpy(np.stack([np.asarray(s[j]) for s in slots])
                                    .astype(dtype))
        return cls(tuple(views), stack(0, np.float32), stack(1, np.int64),
                   stack(2, np.float32), stack(3, np.int64))

    @classmethod
    def stack(cls, items: Sequence['ViewPairs']) -> 'ViewPairs':
        """A batch from the structures of its images.

        Raises:
            ValueError: The images pair different views, or have different slot
                counts.
        """
        if not items:
            raise ValueError('no view pairs to stack: the samples must come from '
                             'ObjectViews + PackObjectViews')
        views = items[0].views
        for i, item in enumerate(items):
            if item.views != views:
                raise ValueError(f'sample {i} pairs views {item.views}, sample 0 '
                                 f'{views}: every image of a batch must have the '
                                 'same pairs')
        try:
            return cls(views, *(torch.stack([getattr(x, f) for x in items])
                                for f in ('boxes_a', 'ids_a', 'boxes_b', 'ids_b')))
        except RuntimeError as e:
            raise ValueError(f'samples have different slot counts: {e}') from e

    def to(self, *args, **kwargs) -> 'ViewPairs':
        """Move the tensors (``Tensor.to`` arguments)."""
        return ViewPairs(self.views, *(getattr(self, f.name).to(*args, **kwargs)
                                       for f in fields(self)[1:]))

    def __len__(self) -> int:
        return len(self.views)

    @property
    def num_boxes(self) -> int:
        """Slots per view, K."""
        return self.ids_a.shape[-1]

    @property
    def used_views(self) -> List[int]:
        """Sorted indices of the views that take part in a pair."""
        return sorted({v for pair in self.views for v in pair})

    def pair(self, i: int) -> ViewPair:
        """Pair ``i`` of a batch (a stacked structure)."""
        a, b = self.views[i]
        return ViewPair(a, b, self.boxes_a[:, i], self.ids_a[:, i],
                        self.boxes_b[:, i], self.ids_b[:, i])

    def pairs(self) -> List[ViewPair]:
        """Every pair of a batch, in order."""
        return [self.pair(i) for i in range(len(self))]


def boxes_to_rois(boxes: Tensor) -> Tensor:
    """(N, K, 4) boxes of N images -> (N*K, 5) rois ``[image, x1, y1, x2, y2]``
    (mmdet's ``bbox2roi`` layout, image-major)."""
    n, k = boxes.shape[:2]
    index = torch.arange(n, device=boxes.device, dtype=boxes.dtype)
    return torch.cat([index.repeat_interleave(k)[:, None], boxes.reshape(-1, 4)], 1)


def view_pairs_from_boxes(boxes: np.ndarray, src_view: int,
                          view_params: Sequence[dict],
                          views: Sequence[Tuple[int, int]],
                          ori_shape: Tuple[int, int],
                          sampler: PairSlotSampler,
                          jitter: Optional[dict] = None,
                          rng=None) -> ViewPairs:
    """One image's :class:`ViewPairs` from boxes proposed on one of its views.

    The in-model counterpart of ``ObjectViews``' box step (docs/heatmap.md): the
    boxes go back onto the original image through ``src_view``'s crop and flip,
    then every pair gets its slots by the same :class:`PairSlotSampler` rules and
    they are mapped into each view.

    Args:
        boxes (np.ndarray): (M, 4) xyxy in ``src_view``'s pixels.
        src_view (int): The view the boxes are on.
        view_params (Sequence[dict]): Per view ``crop`` (xyxy on the original
            image), ``flip`` and ``img_shape`` (h, w), as ``ObjectViews`` records.
        views (Sequence[tuple[int, int]]): (a, b) of each pair.
        ori_shape (tuple[int, int]): (H, W) of the original image.
        sampler (PairSlotSampler): Candidates, choice and padding.
        jitter (dict, optional): Jitter of view a's boxes. Defaults to None.
        rng (np.random.RandomState | np.random.Generator, optional): Random
            draws. Defaults to numpy's global generator.

    Returns:
        ViewPairs: (P, K, 4) boxes, ids indexing ``boxes`` (-1: whole image).
    """
    crops = [np.asarray(p['crop'], np.float64) for p in view_params]
    flips = [bool(p['flip']) for p in view_params]
    sizes = [(int(p['img_shape'][1]), int(p['img_shape'][0])) for p in view_params]
    orig = boxes_from_view(np.asarray(boxes, np.float64).reshape(-1, 4),
                           crops[src_view], sizes[src_view], flips[src_view])
    ids = np.arange(len(orig), dtype=np.int64)
    img_wh = (float(ori_shape[1]), float(ori_shape[0]))
    slots = []
    for a, b in views:
        chosen = sampler.choose(sampler.candidates(orig, crops[a], crops[b]), rng)
        s = sampler.slots(orig, ids, chosen, crops[a], img_wh, jitter, rng)
        slots.append((boxes_to_view(s.boxes_a, crops[a], sizes[a], flips[a]), s.ids_a,
                      boxes_to_view(s.boxes_b, crops[b], sizes[b], flips[b]), s.ids_b))
    return ViewPairs.from_slots(views, slots)
