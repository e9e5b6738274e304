from .soco import SoCo

__all__ = ['SoCo']
