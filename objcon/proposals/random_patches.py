"""Random patches with uniform sides (UP-DETR's query patches)."""
from typing import Optional

import numpy as np

from objcon.registry import PROPOSAL_SOURCES
from .base import BaseProposalSource
from .random_boxes import per_image_rng


@PROPOSAL_SOURCES.register_module()
class RandomPatches(BaseProposalSource):
    """``num`` boxes with sides uniform in ``[margin, side - margin]`` of the image
    (width and height drawn independently), placed uniformly inside it: UP-DETR's
    random query patches.

    Args:
        num (int): Boxes per image. Defaults to 10.
        margin (int): The smallest side, and how much shorter than the image's
            side the largest one is. Defaults to 8.
        seed (int, optional): As :class:`RandomBoxes`: None draws new boxes at
            every call (online use, UP-DETR's). Defaults to None.
        min_image_size (int): Images with a shorter side than this get the
            whole-image box. Defaults to 2 * margin + 1.
    """

    def __init__(self,
                 num: int = 10,
                 margin: int = 8,
                 seed: Optional[int] = None,
                 min_image_size: Optional[int] = None) -> None:
        super().__init__(min_image_size=min_image_size if min_image_size
                         is not None else 2 * margin + 1)
        self.num = num
        self.margin = margin
        self.seed = seed

    def propose(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        rng = per_image_rng(self.seed, key)
        h, w = img.shape[:2]
        bw = rng.uniform(self.margin, w - self.margin, size=self.num)
        bh = rng.uniform(self.margin, h - self.margin, size=self.num)
        x1 = rng.uniform(size=self.num) * (w - bw)
        y1 = rng.uniform(size=self.num) * (h - bh)
        return np.stack([x1, y1, x1 + bw, y1 + bh], 1).astype(np.float32)
