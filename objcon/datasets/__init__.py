from .demo_scenes import (DEMO_CLASSES, demo_scenes_exist, generate_demo_scenes,
                          generate_split)
from .transforms import *  # noqa: F401,F403
from .coco_image_list import read_coco_image_list
from .unlabeled_image_dataset import UnlabeledImageDataset

__all__ = [
    'DEMO_CLASSES', 'generate_demo_scenes', 'generate_split', 'demo_scenes_exist',
    'UnlabeledImageDataset', 'read_coco_image_list'
]
