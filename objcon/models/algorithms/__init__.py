from .ccop import CCOP
from .soco import SoCo

__all__ = ['CCOP', 'SoCo']
