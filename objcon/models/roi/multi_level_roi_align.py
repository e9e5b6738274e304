from typing import List, Optional, Sequence, Union

from mmcv.ops import RoIAlign
from mmengine.model import BaseModule
from torch import Tensor, nn

from objcon.registry import MODELS


@MODELS.register_module()
class MultiLevelRoIAlign(BaseModule):
    """Pool every box on every feature level with mmcv's RoIAlign.

    Object-level methods (SoCo) pool each box on all levels and let the loss decide
    which level counts, unlike mmdet's extractors that route each box to one level.
    Given per-box ``levels``, it pools each box on its level only (SoCo's
    ``pool_levels='assigned'``).

    Args:
        output_size (int): Pooled size. Defaults to 7.
        featmap_strides (Sequence[int]): Stride of each level. Defaults to
            (4, 8, 16, 32) (P2..P5).
        sampling_ratio (int): Samples per bin; 0 is adaptive. Defaults to 0.
        aligned (bool): Half-pixel aligned sampling. Defaults to True.
    """

    def __init__(self,
                 output_size: int = 7,
                 featmap_strides: Sequence[int] = (4, 8, 16, 32),
                 sampling_ratio: int = 0,
                 aligned: bool = True) -> None:
        super().__init__()
        self.featmap_strides = tuple(featmap_strides)
        self.output_size = output_size
        self.layers = nn.ModuleList(
            RoIAlign(output_size, 1.0 / s, sampling_ratio, aligned=aligned)
            for s in self.featmap_strides)

    @property
    def num_levels(self) -> int:
        return len(self.featmap_strides)

    def forward(self, feats: Sequence[Tensor], rois: Tensor,
                levels: Optional[Tensor] = None) -> Union[List[Tensor], Tensor]:
        """
        Args:
            feats (Sequence[Tensor]): One (N, C, H, W) map per level.
            rois (Tensor): (R, 5) rows ``[batch_index, x1, y1, x2, y2]`` in input
                pixels.
            levels (Tensor, optional): (R, ) level of each box. None: pool every
                box on every level.

        Returns:
            list[Tensor] | Tensor: Without ``levels``, per level (R, C,
            output_size, output_size). With ``levels``, one (R, C, output_size,
            output_size) tensor, row r pooled on level ``levels[r]``.
        """
        if len(feats) != self.num_levels:
            raise ValueError(f'expected {self.num_levels} feature levels, got '
                             f'{len(feats)}')
        if levels is None:
            return [layer(f, rois) for f, layer in zip(feats, self.layers)]
        size = self.output_size
        out = feats[0].new_zeros(rois.shape[0], feats[0].shape[1], size, size)
        for lvl, (f, layer) in enumerate(zip(feats, self.layers)):
            index = (levels == lvl).nonzero().squeeze(1)
            if index.numel():
                out = out.index_copy(0, index, layer(f, rois[index]))
            else:
                # keep the level in the graph (DDP expects every parameter to
                # get a gradient), as mmdet's SingleRoIExtractor does
                out = out + f.view(-1)[0] * 0.
        return out
