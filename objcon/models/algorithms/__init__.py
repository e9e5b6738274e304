from .ccop import CCOP
from .detco import DetCo
from .soco import SoCo

__all__ = ['CCOP', 'DetCo', 'SoCo']
