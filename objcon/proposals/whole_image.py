"""The whole image as the only box (image-level baselines)."""
from typing import Optional

import numpy as np

from objcon.registry import PROPOSAL_SOURCES
from .base import BaseProposalSource
from objcon.structures import whole_image_box


@PROPOSAL_SOURCES.register_module()
class WholeImage(BaseProposalSource):
    """One box ``[0, 0, W, H]`` per image.

    Args:
        min_image_size (int): See :class:`BaseProposalSource`. Defaults to 1.
    """

    def __init__(self, min_image_size: int = 1) -> None:
        super().__init__(min_image_size=min_image_size)

    def propose(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        return whole_image_box(img.shape[:2])
