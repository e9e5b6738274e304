"""A label map of the image's grid cells (PLRC's regions)."""
from typing import Dict, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from objcon.registry import TRANSFORMS


@TRANSFORMS.register_module()
class GridRegionMap(BaseTransform):
    """Write an integer label map that splits the image into a grid of cells.

    Pixel (y, x) of an H x W image gets the cell of its centre,
    ``row * cols + col`` with ``row = floor((y + 0.5) rows / H)`` and
    ``col = floor((x + 0.5) cols / W)``: cells of (nearly) equal size, numbered
    row-major from 0. ``ObjectViews(region_map=...)`` carries the map into each
    view.

    Required keys: ``img``.

    Added keys: ``key`` ((H, W) int32 labels).

    Args:
        grid (int | Sequence[int]): Cells (rows, cols); an int gives a square
            grid. Defaults to 4 (PLRC's 4 x 4).
        key (str): Where the map is written. Defaults to ``'region_map'``.
    """

    def __init__(self, grid: Union[int, Sequence[int]] = 4,
                 key: str = 'region_map') -> None:
        grid = (grid, grid) if isinstance(grid, int) else tuple(grid)
        if len(grid) != 2 or min(grid) < 1:
            raise ValueError(f'grid must be (rows, cols) >= 1, got {grid}')
        self.rows, self.cols = int(grid[0]), int(grid[1])
        self.key = key

    def transform(self, results: Dict) -> Dict:
        """Add the grid label map of ``results['img']``.

        Args:
            results (dict): With ``img``.

        Returns:
            dict: With ``results[key]``.
        """
        height, width = results['img'].shape[:2]
        rows = ((np.arange(height) + 0.5) * self.rows / height).astype(np.int32)
        cols = ((np.arange(width) + 0.5) * self.cols / width).astype(np.int32)
        results[self.key] = rows[:, None] * np.int32(self.cols) + cols[None, :]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(grid=({self.rows}, {self.cols}), '
                f'key={self.key!r})')
