from .ccop import CCOP
from .detco import DetCo
from .plrc import PLRC
from .soco import SoCo

__all__ = ['CCOP', 'DetCo', 'PLRC', 'SoCo']
