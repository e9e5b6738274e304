"""A fixed grid of boxes (PLRC's regions, a warm-up source, a recall baseline)."""
from typing import Optional

import numpy as np

from objcon.registry import PROPOSAL_SOURCES
from .base import BaseProposalSource


@PROPOSAL_SOURCES.register_module()
class GridBoxes(BaseProposalSource):
    """``rows x cols`` boxes on a regular grid, row by row.

    Without ``scale`` the boxes are the grid's cells: they tile the image. With
    ``scale`` every box has the image's aspect ratio and the relative scale
    ``sqrt(w h) / sqrt(W H) = scale``, and the ``rows x cols`` boxes are spread
    evenly between the image's borders (the outer ones touch them; a single
    row or column is centred), so they may overlap or leave gaps. With
    ``rows = cols = n`` and ``scale = 1 / n`` both give the same tiling.

    Args:
        rows (int): Rows of the grid. Defaults to 4.
        cols (int): Columns of the grid. Defaults to 4.
        scale (float, optional): Relative scale of every box, in (0, 1]; None
            tiles the image. Defaults to None.
        filter (dict, optional): See :class:`BaseProposalSource`. Defaults to None.
        empty_fallback (str): See :class:`BaseProposalSource`. Defaults to
            ``'whole_image'``.
        min_image_size (int): See :class:`BaseProposalSource`. Defaults to 8
            (sub-pixel boxes help nobody).
    """

    def __init__(self,
                 rows: int = 4,
                 cols: int = 4,
                 scale: Optional[float] = None,
                 filter: Optional[dict] = None,
                 empty_fallback: str = 'whole_image',
                 min_image_size: int = 8) -> None:
        super().__init__(filter=filter, empty_fallback=empty_fallback,
                         min_image_size=min_image_size)
        if rows < 1 or cols < 1:
            raise ValueError(f'rows and cols must be >= 1, got {rows}, {cols}')
        if scale is not None and not 0 < scale <= 1:
            raise ValueError(f'scale must be in (0, 1] or None, got {scale}')
        self.rows, self.cols = rows, cols
        self.scale = None if scale is None else float(scale)

    @staticmethod
    def _starts(n: int, box: float, side: float) -> np.ndarray:
        """Left (top) edges of ``n`` boxes of length ``box`` spread over ``side``."""
        frac = np.linspace(0, 1, n) if n > 1 else np.array([0.5])
        return ((side - box) * frac).astype(np.float32)

    def propose(self, img: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        h, w = img.shape[:2]
        if self.scale is None:
            bw, bh = w / self.cols, h / self.rows
        else:
            bw, bh = w * self.scale, h * self.scale
        x1, y1 = np.meshgrid(self._starts(self.cols, bw, w),
                             self._starts(self.rows, bh, h))
        return np.stack([x1, y1, x1 + bw, y1 + bh], -1).reshape(-1, 4).astype(
            np.float32)
