from .soco_lars import SoCoLARS

__all__ = ['SoCoLARS']
