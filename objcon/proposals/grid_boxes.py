"""A fixed grid of boxes (PLRC's regions, a warm-up source)."""
from typing import Optional

import numpy as np

from objcon.registry import PROPOSAL_SOURCES
from .base import BaseProposalSource


@PROPOSAL_SOURCES.register_module()
class GridBoxes(BaseProposalSource):
    """``rows x cols`` boxes tiling the image, row by row.

    Args:
        rows (int): Rows of the grid. Defaults to 4.
        cols (int): Columns of the grid. Defaults to 4.
        filter (dict, optional): See :class:`BaseProposalSource`. Defaults to None.
        empty_fallback (str): See :class:`BaseProposalSource`. Defaults to
            ``'whole_image'``.
        min_image_size (int): See :class:`BaseProposalSource`. Defaults to 8
            (sub-pixel boxes help nobody).
    """

    def __init__(self,
                 rows: int = 4,
                 cols: int = 4,
                 filter: Optional[dict] = None,
                 empty_fallback: str = 'whole_image',
                 min_image_size: int = 8) -> None:
        super().__init__(filter=filter, empty_fallback=empty_fallback,
                         min_image_size=min_image_size)
        if rows < 1 or cols < 1:
            raise ValueError(f'rows and cols must be >= 1, got {rows}, {cols}')
        self.rows, self.cols = rows, cols

    def propose(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        h, w = img.shape[:2]
        xs = np.linspace(0, w, self.cols + 1, dtype=np.float32)
        ys = np.linspace(0, h, self.rows + 1, dtype=np.float32)
        x1, y1 = np.meshgrid(xs[:-1], ys[:-1])
        x2, y2 = np.meshgrid(xs[1:], ys[1:])
        return np.stack([x1, y1, x2, y2], -1).reshape(-1, 4)
