"""No trunk: RoI features flattened (CCOP's RoI head takes them directly)."""
from torch import Tensor, nn

from objcon.registry import MODELS


@MODELS.register_module()
class FlattenTrunk(nn.Module):
    """No trunk: pooled (R, C, S, S) features flattened to (R, C*S*S), for
    methods whose projector takes the RoI features directly (CCOP)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(1)
