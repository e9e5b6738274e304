from .ccop import CCOP
from .detco import DetCo
from .detcon import DetCon
from .detector_pretrainer import BaseDetectorPretrainer
from .detreg import DETReg
from .plrc import PLRC
from .soco import SoCo
from .updetr import UPDETR, query_group_mask

__all__ = ['BaseDetectorPretrainer', 'CCOP', 'DETReg', 'DetCo', 'DetCon', 'PLRC',
           'SoCo', 'UPDETR', 'query_group_mask']
