from .ccop import CCOP
from .detector_pretrainer import BaseDetectorPretrainer
from .detreg import DETReg
from .soco import SoCo

__all__ = ['BaseDetectorPretrainer', 'CCOP', 'DETReg', 'SoCo']
