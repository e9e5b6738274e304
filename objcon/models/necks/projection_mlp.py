"""A two-layer projection MLP with dropout and no normalisation (CCOP)."""
from typing import Optional, Tuple

from mmengine.model import BaseModule
from torch import Tensor, nn

from objcon.registry import MODELS


@MODELS.register_module()
class ProjectionMLP(BaseModule):
    """``[avg pool] -> flatten -> Linear -> Dropout -> ReLU -> Linear``.

    CCOP's image and RoI heads: no BN, dropout after the first layer (live in
    every branch that is in train mode, the EMA key branch included, as the
    reference). Takes and returns a tuple, as mmpretrain's necks.

    Args:
        in_channels (int): Input features (C, or C*S*S for flattened maps).
        hid_channels (int): Hidden width. Defaults to 2048.
        out_channels (int): Output width. Defaults to 128.
        dropout (float): Dropout probability. Defaults to 0.1.
        with_avg_pool (bool): Global-average-pool (N, C, H, W) inputs first.
            Defaults to False.
        init_cfg (dict, optional): Defaults to Linear weights normal (std
            0.01), biases 0, as OpenSelfSup's init of the reference.
    """

    def __init__(self, in_channels: int, hid_channels: int = 2048,
                 out_channels: int = 128, dropout: float = 0.1,
                 with_avg_pool: bool = False,
                 init_cfg: Optional[dict] = dict(type='Normal', std=0.01,
                                                 bias=0., layer='Linear')
                 ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_avg_pool = with_avg_pool
        self.avgpool = nn.AdaptiveAvgPool2d(1) if with_avg_pool else None
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hid_channels), nn.Dropout(dropout),
            nn.ReLU(inplace=True), nn.Linear(hid_channels, out_channels))

    def forward(self, x: Tuple[Tensor, ...]) -> Tuple[Tensor]:
        """(N, ...) features (the last of the tuple) -> ((N, out_channels), )."""
        feat = x[-1]
        if self.avgpool is not None:
            feat = self.avgpool(feat)
        return (self.mlp(feat.flatten(1)), )
