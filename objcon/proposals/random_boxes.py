"""Random boxes (a baseline and a warm-up source)."""
import zlib
from typing import Optional, Tuple

import numpy as np

from objcon.registry import PROPOSAL_SOURCES
from .base import BaseProposalSource


def per_image_rng(seed: Optional[int], key: Optional[str]):
    """numpy's global generator when ``seed`` is None, else one seeded by
    ``(seed, key)``: an image's boxes are then a function of its key."""
    if seed is None:
        return np.random.mtrand._rand
    # crc32, not hash(): Python salts str hashes per process.
    key_hash = zlib.crc32((key or '').encode())
    return np.random.default_rng([seed, key_hash])


@PROPOSAL_SOURCES.register_module()
class RandomBoxes(BaseProposalSource):
    """``num`` boxes of random scale, aspect ratio and position inside the image.

    Scale is ``sqrt(w h) / sqrt(W H)``, uniform in ``scale_range``; ``log(w / h)`` is
    uniform in ``log(aspect_range)``; boxes are then shrunk to fit and placed
    uniformly.

    Args:
        num (int): Boxes per image. Defaults to 16.
        scale_range (tuple[float, float]): Relative scale range. Defaults to
            (0.1, 0.8).
        aspect_range (tuple[float, float]): ``w / h`` range. Defaults to (1/3, 3).
        seed (int, optional): With a seed, an image's boxes are a function of
            (seed, key), so a precomputed cache is reproducible; None draws from
            numpy's global generator (new boxes at every call, for online use).
            Defaults to None.
        filter (dict, optional): See :class:`BaseProposalSource`. Defaults to None.
        empty_fallback (str): See :class:`BaseProposalSource`. Defaults to
            ``'whole_image'``.
        min_image_size (int): See :class:`BaseProposalSource`. Defaults to 8
            (sub-pixel boxes help nobody).
    """

    def __init__(self,
                 num: int = 16,
                 scale_range: Tuple[float, float] = (0.1, 0.8),
                 aspect_range: Tuple[float, float] = (1 / 3, 3),
                 seed: Optional[int] = None,
                 filter: Optional[dict] = None,
                 empty_fallback: str = 'whole_image',
                 min_image_size: int = 8) -> None:
        super().__init__(filter=filter, empty_fallback=empty_fallback,
                         min_image_size=min_image_size)
        self.num = num
        self.scale_range = tuple(scale_range)
        self.aspect_range = tuple(aspect_range)
        self.seed = seed

    def _rng(self, key: Optional[str]):
        return per_image_rng(self.seed, key)

    def propose(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        h, w = img.shape[:2]
        rng = self._rng(key)
        scale = rng.uniform(*self.scale_range, size=self.num) * np.sqrt(w * h)
        aspect = np.exp(rng.uniform(*np.log(self.aspect_range), size=self.num))
        bw = np.minimum(scale * np.sqrt(aspect), w)
        bh = np.minimum(scale / np.sqrt(aspect), h)
        x1 = rng.uniform(size=self.num) * (w - bw)
        y1 = rng.uniform(size=self.num) * (h - bh)
        return np.stack([x1, y1, x1 + bw, y1 + bh], 1).astype(np.float32)
