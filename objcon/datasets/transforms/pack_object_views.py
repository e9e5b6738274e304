"""Pack the output of ObjectViews into model inputs and a data sample."""
from typing import Dict, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from objcon.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackObjectViews(BaseTransform):
    """Pack views and box pairs for an object-level pretraining model.

    Output ``inputs``: a list of CHW uint8 tensors, one per view, in the order of
    ``ObjectViews``' ``views`` (BGR kept; mean/std and channel order are the data
    preprocessor's job). Output ``data_samples``: a ``BaseDataElement`` whose
    ``view_pairs`` is the image's :class:`~objcon.structures.ViewPairs` (moved to
    the device with the sample by the data preprocessor), when ``ObjectViews`` made
    pairs. Metainfo of the sample: the ``meta_keys`` present in the results.

    Required keys: ``img`` (list of HxWx3 uint8). Optional: ``view_pairs``.

    Args:
        meta_keys (Sequence[str]): Keys copied into the sample's metainfo when
            present. Defaults to ('img_path', 'ori_shape', 'img_shape',
            'view_params').
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('img_path', 'ori_shape', 'img_shape',
                                             'view_params')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: Dict) -> Dict:
        """Pack the results.

        Args:
            results (dict): The output of ``ObjectViews``.

        Returns:
            dict: ``inputs`` (list[torch.Tensor]) and ``data_samples``
            (BaseDataElement).
        """
        views = results['img']
        assert isinstance(views, (list, tuple)), \
            'PackObjectViews expects the list of views of ObjectViews'
        inputs = []
        for view in views:
            view = view[..., None] if view.ndim == 2 else view
            inputs.append(torch.from_numpy(
                np.ascontiguousarray(view.transpose(2, 0, 1))))

        metainfo = {k: results[k] for k in self.meta_keys if k in results}
        data_sample = BaseDataElement(metainfo=metainfo)
        if 'view_pairs' in results:
            data_sample.view_pairs = results['view_pairs']
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
