"""Boxes from a heat map of the network's own last features (in-model, per batch).

objcon's reading of Geng & Huang, "End-to-End Object-Level Contrastive Pretraining
for Detection via Semantic-Aware Localization" (CICAI 2023): see
``../shared/spec/methods.md`` and ``docs/heatmap.md``.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from torch import Tensor

from objcon.registry import PROPOSAL_GENERATORS
from .base import BaseProposalGenerator
from .per_image_proposals import PerImageProposals


@PROPOSAL_GENERATORS.register_module()
class HeatMapProposals(BaseProposalGenerator):
    """Center-suppressed sampling and multiple cropping on a feature heat map.

    Per image of the batch:

    1. Heat map: channel mean of ``|C5|`` (``power=1``) or of ``C5 ** 2``
       (``power=2``), bilinearly upsampled to the image, min-max normalised to
       [0, 1] per image.
    2. ``num_centres`` centres drawn one at a time with probability proportional to
       the heat map; after each draw every pixel within ``suppress_dist`` (Chebyshev
       distance, i.e. a square window) of the centre gets probability 0, so later
       centres land on other objects, not on the same peak. An image whose
       remaining heat is all zero draws uniformly among the unsuppressed pixels; if
       none is left (``suppress_dist`` too large for ``num_centres``), among all
       pixels (only then may two centres be closer than ``suppress_dist``).
    3. Extent of the object around each centre: the region above ``threshold`` x
       the centre's heat connected to the centre, approximated cheaply by the
       above-threshold run of pixels through the centre along its row (width) and
       its column (height) -- exact for convex blobs, an under-estimate for
       concave ones; no connected-component labelling, so it stays on the
       tensor's device and batched. The extent is at least ``min_size`` x the
       image side.
    4. Multiple cropping: one box per (scale, aspect) around the extent's middle,
       of width ``extent_w * scale * sqrt(aspect)`` and height
       ``extent_h * scale / sqrt(aspect)``; a box whose scale ``sqrt(w h)``
       exceeds ``max_size`` x ``sqrt(W H)`` is shrunk about its centre to that
       scale (aspect kept); then clipped to the image (and kept at least one pixel
       wide and high).

    Boxes are ordered centre-major: box ``c * S * A + s * A + a`` is centre c,
    scale s, aspect a. While the iteration is below ``warmup_iters`` (the
    network's features mean nothing yet) the ``warmup`` source gives the boxes
    instead (any per-image source that reads only the image size, through
    :class:`PerImageProposals`, e.g. ``GridBoxes`` or ``RandomBoxes``).

    Args:
        num_centres (int): Centres drawn per image. Defaults to 4.
        scales (Sequence[float]): Box sizes relative to the extent. Defaults to
            (0.5, 0.75, 1.0).
        aspects (Sequence[float]): Aspect ratios (w / h multipliers). Defaults to
            (1.0,).
        power (int): 1: mean of ``|x|``; 2: mean of ``x ** 2``. Defaults to 1.
        suppress_dist (float): Suppression half-width. A value <= 1 is a fraction
            of the image's shorter side, > 1 is pixels. Defaults to 0.2.
        threshold (float): Relative threshold of the extent region (pixels with
            heat >= threshold x the centre's heat belong to it). Defaults to 0.7.
        min_size (float): Smallest extent, relative to the image side.
            Defaults to 0.05.
        max_size (float, optional): Largest box scale ``sqrt(w h)`` relative to
            the image's ``sqrt(W H)``; None: no bound. The default is the upper
            bound of SoCo's selective-search filter, so that heat-map boxes stay
            in the size band of the cached proposals they replace (a whole-image
            box is no object, and RoIAlign's adaptive sampling makes large boxes
            cost more). Defaults to 0.8.
        warmup_iters (int): Iterations that use ``warmup`` instead of the heat
            map (0: none). Defaults to 0.
        warmup (dict): Per-image warm-up source config. Defaults to
            ``dict(type='GridBoxes', rows=4, cols=4)``.
        seed (int, optional): Seed of the source's own ``torch.Generator`` (CPU);
            None draws from torch's global generator (seeded by the Runner).
            Defaults to None.
    """

    def __init__(self,
                 num_centres: int = 4,
                 scales: Sequence[float] = (0.5, 0.75, 1.0),
                 aspects: Sequence[float] = (1.0, ),
                 power: int = 1,
                 suppress_dist: float = 0.2,
                 threshold: float = 0.7,
                 min_size: float = 0.05,
                 max_size: Optional[float] = 0.8,
                 warmup_iters: int = 0,
                 warmup: Optional[dict] = None,
                 seed: Optional[int] = None) -> None:
        if num_centres < 1:
            raise ValueError(f'num_centres must be >= 1, got {num_centres}')
        if power not in (1, 2):
            raise ValueError(f'power must be 1 or 2, got {power}')
        if not scales or not aspects or min(scales) <= 0 or min(aspects) <= 0:
            raise ValueError('scales and aspects must be non-empty and positive')
        if suppress_dist < 0 or not 0 <= threshold <= 1 or warmup_iters < 0:
            raise ValueError('suppress_dist >= 0, 0 <= threshold <= 1 and '
                             'warmup_iters >= 0 are required')
        if max_size is not None and max_size <= 0:
            raise ValueError(f'max_size must be positive or None, got {max_size}')
        self.num_centres = num_centres
        self.scales = tuple(float(s) for s in scales)
        self.aspects = tuple(float(a) for a in aspects)
        self.power = power
        self.suppress_dist = float(suppress_dist)
        self.threshold = float(threshold)
        self.min_size = float(min_size)
        self.max_size = None if max_size is None else float(max_size)
        self.warmup_iters = int(warmup_iters)
        self.warmup = PerImageProposals(
            warmup if warmup is not None else dict(type='GridBoxes', rows=4, cols=4))
        self.generator = None
        if seed is not None:
            self.generator = torch.Generator().manual_seed(int(seed))

    @property
    def boxes_per_image(self) -> int:
        """Boxes per image after the warm-up."""
        return self.num_centres * len(self.scales) * len(self.aspects)

    # ------------------------------------------------------------ heat map
    def heat_map(self, feats: Union[Tensor, Sequence[Tensor]],
                 out_hw: Tuple[int, int]) -> Tensor:
        """Per-image min-max normalised heat map.

        Args:
            feats (Tensor | Sequence[Tensor]): (B, C, h, w) features (C5), or the
                backbone's tuple of levels (the last one is used).
            out_hw (tuple[int, int]): Size (H, W) to upsample to.

        Returns:
            Tensor: (B, H, W) float32 in [0, 1].
        """
        x = feats if isinstance(feats, Tensor) else feats[-1]
        x = x.detach().float()
        heat = (x.abs() if self.power == 1 else x * x).mean(1, keepdim=True)
        heat = F.interpolate(heat, size=tuple(int(s) for s in out_hw),
                             mode='bilinear', align_corners=False)[:, 0]
        flat = heat.flatten(1)
        lo = flat.min(1).values[:, None, None]
        hi = flat.max(1).values[:, None, None]
        # A constant map (e.g. all-zero features) is 0 everywhere, not NaN.
        return (heat - lo) / (hi - lo).clamp_min(1e-12)

    # ------------------------------------------------------------- sampling
    def _rand(self, n: int, device: torch.device) -> Tensor:
        # Drawn on the generator's device (CPU), so the same seed gives the same
        # centres on any device.
        if self.generator is not None:
            return torch.rand(n, generator=self.generator).to(device)
        return torch.rand(n, device=device)

    def _suppress_px(self, hw: Tuple[int, int]) -> float:
        d = self.suppress_dist
        return d * min(hw) if d <= 1 else d

    def sample_centres(self, heat: Tensor, hw: Optional[Tuple[int, int]] = None
                       ) -> Tensor:
        """Center-suppressed sampling of ``num_centres`` centres per image.

        Args:
            heat (Tensor): (B, H, W) heat maps (non-negative).
            hw (tuple[int, int], optional): Image size the suppression distance
                is relative to. Defaults to the heat map's size.

        Returns:
            Tensor: (B, K, 2) long pixel centres ``(x, y)``.
        """
        b, h, w = heat.shape
        dist = self._suppress_px(hw or (h, w))
        ys = torch.arange(h, device=heat.device)[None, :, None]
        xs = torch.arange(w, device=heat.device)[None, None, :]
        allowed = torch.ones_like(heat, dtype=torch.bool)
        centres = []
        for _ in range(self.num_centres):
            prob = (heat * allowed).flatten(1)
            # Fallbacks per image: uniform over the allowed pixels, then over all.
            empty = prob.sum(1) <= 0
            if empty.any():
                uniform = allowed.flatten(1).float()
                none_left = uniform.sum(1) <= 0
                uniform[none_left] = 1.
                prob = torch.where(empty[:, None], uniform, prob)
            cdf = prob.cumsum(1)
            u = self._rand(b, heat.device) * cdf[:, -1]
            # Inverse CDF: the first pixel whose cdf exceeds u (never a 0-prob one).
            idx = torch.searchsorted(cdf, u[:, None], right=True)[:, 0]
            idx = idx.clamp_max(h * w - 1)
            cy, cx = idx // w, idx % w
            centres.append(torch.stack([cx, cy], 1))
            near = ((xs - cx[:, None, None]).abs() < dist) & \
                ((ys - cy[:, None, None]).abs() < dist)
            allowed &= ~near
        return torch.stack(centres, 1)

    # ---------------------------------------------------------------- boxes
    def extents(self, heat: Tensor, centres: Tensor) -> Tensor:
        """Above-threshold run through each centre along its row and column.

        Args:
            heat (Tensor): (B, H, W) heat maps.
            centres (Tensor): (B, K, 2) long ``(x, y)``.

        Returns:
            Tensor: (B, K, 4) float xyxy of the run (half-open pixel ranges).
        """
        b, h, w = heat.shape
        bi = torch.arange(b, device=heat.device)[:, None]
        cx, cy = centres[..., 0], centres[..., 1]
        level = heat[bi, cy, cx] * self.threshold  # (B, K)
        rows = heat[bi, cy]  # (B, K, W)
        cols = heat.transpose(1, 2)[bi, cx]  # (B, K, H)

        def run(line: Tensor, c: Tensor, n: int) -> Tuple[Tensor, Tensor]:
            idx = torch.arange(n, device=line.device)
            below = line < level[..., None]
            c = c[..., None]
            lo = torch.where(below & (idx < c), idx, -1).max(-1).values + 1
            hi = torch.where(below & (idx > c), idx, n).min(-1).values
            return lo, hi

        x1, x2 = run(rows, cx, w)
        y1, y2 = run(cols, cy, h)
        return torch.stack([x1, y1, x2, y2], -1).float()

    def boxes_from_extents(self, ext: Tensor, hw: Tuple[int, int]) -> Tensor:
        """Multiple cropping: scales x aspects around each extent, clipped.

        Args:
            ext (Tensor): (B, K, 4) extents xyxy.
            hw (tuple[int, int]): Image (H, W).

        Returns:
            Tensor: (B, K * S * A, 4) float32 xyxy inside the image.
        """
        h, w = hw
        ctr = (ext[..., :2] + ext[..., 2:]) / 2
        size = (ext[..., 2:] - ext[..., :2])
        size = torch.maximum(size, size.new_tensor([self.min_size * w,
                                                    self.min_size * h]))
        scales = ext.new_tensor(self.scales)
        root = ext.new_tensor(self.aspects).sqrt()
        mult = torch.stack([
            (scales[:, None] * root[None]).flatten(),
            (scales[:, None] / root[None]).flatten()], -1)  # (S*A, 2)
        half = size[:, :, None] * mult / 2  # (B, K, S*A, 2)
        if self.max_size is not None:
            # sqrt(w h) = 2 sqrt(half_w half_h); shrink both sides alike
            scale = 2 * (half[..., 0] * half[..., 1]).sqrt()
            shrink = (self.max_size * (h * w) ** 0.5 / scale).clamp(max=1.)
            half = half * shrink[..., None]
        c = ctr[:, :, None]
        limit = ext.new_tensor([w, h])
        lo = (c - half).clamp_min(0)
        hi = torch.minimum(c + half, limit)
        # At least one pixel, inside the image.
        lo = torch.minimum(lo, limit - 1)
        hi = torch.maximum(hi, lo + 1)
        return torch.cat([lo, hi], -1).flatten(1, 2).float()

    def propose(self, heat: Tensor, hw: Tuple[int, int]) -> Tensor:
        """Boxes of a batch of heat maps (no warm-up).

        Args:
            heat (Tensor): (B, H, W) heat maps of images of size ``hw``.
            hw (tuple[int, int]): Image (H, W).

        Returns:
            Tensor: (B, boxes_per_image, 4) float32 xyxy.
        """
        centres = self.sample_centres(heat, hw)
        return self.boxes_from_extents(self.extents(heat, centres), hw)

    # ----------------------------------------------------------------- call
    def log_vars(self) -> Dict[str, float]:
        """``proposal_warmup``: 1 while the warm-up boxes are used."""
        return dict(proposal_warmup=float(self.in_warmup()))

    def in_warmup(self, iteration: Optional[int] = None) -> bool:
        """Whether ``iteration`` (default: the MessageHub's ``iter``) warms up."""
        if iteration is None:
            iteration = MessageHub.get_current_instance().get_info('iter', 0)
        return int(iteration) < self.warmup_iters

    def __call__(self, feats: Union[Tensor, Sequence[Tensor]],
                 img_shapes: Sequence[Tuple[int, int]],
                 iteration: Optional[int] = None) -> List[Tensor]:
        """Boxes per image of the batch.

        Args:
            feats (Tensor | Sequence[Tensor]): C5 (B, C, h, w) of the images (or
                the backbone's levels, last = C5), computed on the whole batch
                tensor, whose spatial size is the largest of ``img_shapes``.
            img_shapes (Sequence[tuple[int, int]]): (H, W) per image.
            iteration (int, optional): Current iteration, for the warm-up.
                Defaults to the MessageHub's ``iter`` (set by RuntimeInfoHook).

        Returns:
            list[Tensor]: B float32 (N, 4) pixel xyxy on each image, on the
            features' device.
        """
        x = feats if isinstance(feats, Tensor) else feats[-1]
        if self.in_warmup(iteration):
            return [b.to(x.device) for b in self.warmup(x, img_shapes)]
        shapes = [(int(h), int(w)) for h, w in img_shapes]
        big = (max(s[0] for s in shapes), max(s[1] for s in shapes))
        heat = self.heat_map(x, big)
        if all(s == big for s in shapes):  # the usual case: views of one size
            return list(self.propose(heat, big).unbind(0))
        # Padded batch: each image's own top-left region, renormalised.
        out = []
        for i, (h, w) in enumerate(shapes):
            part = heat[i:i + 1, :h, :w]
            lo, hi = part.min(), part.max()
            part = (part - lo) / (hi - lo).clamp_min(1e-12)
            out.append(self.propose(part, (h, w))[0])
        return out

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_centres={self.num_centres}, '
                f'scales={self.scales}, aspects={self.aspects}, power={self.power}, '
                f'suppress_dist={self.suppress_dist}, threshold={self.threshold}, '
                f'max_size={self.max_size}, '
                f'warmup_iters={self.warmup_iters})')
