from .ccop import CCOP
from .plrc import PLRC
from .soco import SoCo

__all__ = ['CCOP', 'PLRC', 'SoCo']
