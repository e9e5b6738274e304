"""DINO's projection head: MLP with BN, L2-normalised bottleneck, weight-normed
prototypes."""
from typing import Optional, Tuple

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from objcon.registry import MODELS


@MODELS.register_module()
class DINOProjectionHead(BaseModule):
    """``MLP -> bottleneck b -> logits = normalize(b) W^T`` with unit-norm rows of W.

    The MLP is ``num_layers`` Linear layers, each but the last followed by
    BatchNorm1d (optional) and ReLU. The last layer is DINO's weight-normalised
    Linear without bias with its gain frozen at 1: its effective weight is the
    row-normalised ``W``, computed here directly (no ``weight_g`` parameter to
    freeze). Works on any (N, C) rows, e.g. every position of a feature map
    (PLRC).

    Args:
        in_channels (int): Input width.
        hid_channels (int): Hidden width. Defaults to 2048.
        bottleneck_channels (int): Width of b. Defaults to 256.
        out_channels (int): Number of logits. Defaults to 4096.
        num_layers (int): Linear layers of the MLP. Defaults to 3.
        with_bn (bool): BatchNorm1d after each hidden Linear. Defaults to True.
        init_cfg (dict, optional): Defaults to DINO's: MLP weights truncated
            normal (std 0.02), biases 0; the last layer keeps PyTorch's default.
    """

    def __init__(self, in_channels: int, hid_channels: int = 2048,
                 bottleneck_channels: int = 256, out_channels: int = 4096,
                 num_layers: int = 3, with_bn: bool = True,
                 init_cfg: Optional[dict] = dict(
                     type='TruncNormal', std=0.02, bias=0., layer='Linear',
                     override=dict(name='last_layer', type='Kaiming',
                                   a=5 ** 0.5, mode='fan_in',
                                   nonlinearity='leaky_relu',
                                   distribution='uniform'))
                 ) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        layers, width = [], in_channels
        for _ in range(num_layers - 1):
            layers.append(nn.Linear(width, hid_channels))
            if with_bn:
                layers.append(nn.BatchNorm1d(hid_channels))
            layers.append(nn.ReLU(inplace=True))
            width = hid_channels
        layers.append(nn.Linear(width, bottleneck_channels))
        self.mlp = nn.Sequential(*layers)
        self.last_layer = nn.Linear(bottleneck_channels, out_channels, bias=False)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """(N, in_channels) -> (bottleneck (N, B) before normalisation,
        logits (N, out_channels))."""
        bottleneck = self.mlp(x)
        logits = F.linear(F.normalize(bottleneck, dim=-1),
                          F.normalize(self.last_layer.weight, dim=1))
        return bottleneck, logits
