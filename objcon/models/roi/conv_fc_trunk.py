from typing import Optional

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from objcon.registry import MODELS


@MODELS.register_module()
class SharedConvFCTrunk(BaseModule):
    """The trunk of mmdet's Shared4Conv1FCBBoxHead: convs, flatten, fcs (ReLU).

    Parameter names match ``roi_head.bbox_head.shared_convs.*`` and
    ``shared_fcs.*`` of mmdet's ``Shared4Conv1FCBBoxHead``, so a pretrained trunk
    transfers to the detector's box head key for key.

    Args:
        in_channels (int): Channels of the pooled features. Defaults to 256.
        roi_feat_size (int): Pooled size. Defaults to 7.
        num_convs (int): 3x3 convs. Defaults to 4.
        conv_out_channels (int): Defaults to 256.
        num_fcs (int): Defaults to 1.
        fc_out_channels (int): Defaults to 1024.
        norm_cfg (dict, optional): Norm after each conv (SoCo: BN, conv bias off).
            Defaults to ``dict(type='BN')``.
        init_cfg (dict, optional): Defaults to Xavier on the fcs, as mmdet
            (SoCo's reference keeps PyTorch's default Linear init: None).
    """
    #: (own prefix, detector prefix) of each transfer part.
    transfer_prefixes = dict(head=[
        ('shared_convs.', 'roi_head.bbox_head.shared_convs.'),
        ('shared_fcs.', 'roi_head.bbox_head.shared_fcs.')])

    def __init__(self,
                 in_channels: int = 256,
                 roi_feat_size: int = 7,
                 num_convs: int = 4,
                 conv_out_channels: int = 256,
                 num_fcs: int = 1,
                 fc_out_channels: int = 1024,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 init_cfg: Optional[dict] = dict(
                     type='Xavier', distribution='uniform',
                     override=dict(name='shared_fcs'))) -> None:
        super().__init__(init_cfg=init_cfg)
        self.shared_convs = nn.ModuleList(
            ConvModule(in_channels if i == 0 else conv_out_channels,
                       conv_out_channels, 3, padding=1, norm_cfg=norm_cfg)
            for i in range(num_convs))
        flat = (conv_out_channels if num_convs else in_channels) * roi_feat_size**2
        self.shared_fcs = nn.ModuleList(
            nn.Linear(flat if i == 0 else fc_out_channels, fc_out_channels)
            for i in range(num_fcs))
        self.out_channels = fc_out_channels if num_fcs else flat

    def forward(self, x: Tensor) -> Tensor:
        """(R, C, S, S) pooled features -> (R, out_channels) embeddings."""
        for conv in self.shared_convs:
            x = conv(x)
        x = x.flatten(1)
        for fc in self.shared_fcs:
            x = F.relu(fc(x))
        return x
