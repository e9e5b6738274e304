"""mmdet's PackDetInputs, plus the crops of the target boxes."""
import numpy as np
import torch
from mmdet.datasets.transforms import PackDetInputs

from objcon.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackDetInputsWithCrops(PackDetInputs):
    """``PackDetInputs`` that also packs ``object_crops`` (from
    :class:`ObjectCrops`) as the data sample's ``object_crops``: an (N, 3, h, w)
    uint8 tensor, BGR, crop ``i`` for object id ``i``. Arguments as
    ``PackDetInputs``."""

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        crops = np.ascontiguousarray(results['object_crops'].transpose(0, 3, 1, 2))
        packed['data_samples'].object_crops = torch.from_numpy(crops)
        return packed
