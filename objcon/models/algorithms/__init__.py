from .ccop import CCOP
from .detector_pretrainer import BaseDetectorPretrainer
from .detreg import DETReg
from .soco import SoCo
from .updetr import UPDETR, query_group_mask

__all__ = ['BaseDetectorPretrainer', 'CCOP', 'DETReg', 'SoCo', 'UPDETR',
           'query_group_mask']
