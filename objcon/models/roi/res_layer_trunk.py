from torch import Tensor, nn

from objcon.registry import MODELS
from mmengine.model import BaseModule


@MODELS.register_module()
class ResLayerTrunk(BaseModule):
    """res5 on pooled C4 features, then global average pooling (SoCo-C4).

    Wraps mmdet's ``ResLayer`` shared head under the attribute ``shared_head`` so
    that its weights transfer to ``roi_head.shared_head.*`` of mmdet's C4 Mask
    R-CNN.

    Args:
        res_layer (dict): Config of mmdet's ResLayer. Defaults to res5 of R50.
    """
    #: res5 belongs to the backbone part of a C4 detector (its shared head).
    transfer_prefixes = dict(backbone=[('shared_head.', 'roi_head.shared_head.')])

    def __init__(self, res_layer: dict = dict(
            type='mmdet.ResLayer', depth=50, stage=3, stride=2,
            norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False)) -> None:
        super().__init__()
        self.shared_head = MODELS.build(res_layer)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: Tensor) -> Tensor:
        """(R, 1024, 14, 14) -> (R, 2048)."""
        return self.pool(self.shared_head(x)).flatten(1)
