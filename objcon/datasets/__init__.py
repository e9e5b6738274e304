from .demo_scenes import (DEMO_CLASSES, demo_scenes_exist, generate_demo_scenes,
                          generate_split)
from .transforms import *  # noqa: F401,F403

__all__ = [
    'DEMO_CLASSES', 'generate_demo_scenes', 'generate_split', 'demo_scenes_exist'
]
