"""Pack the output of ObjectViews into model inputs and a data sample."""
from typing import Dict, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement, InstanceData

from objcon.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackObjectViews(BaseTransform):
    """Pack views and box pairs for an object-level pretraining model.

    Output ``inputs``: a list of CHW uint8 tensors, one per view, in the order of
    ``ObjectViews``' ``views`` (BGR kept; mean/std and channel order are the data
    preprocessor's job). Output ``data_samples``: a ``BaseDataElement`` whose
    ``view_pairs`` is a list (``pairs`` order) of ``InstanceData`` with fields
    ``boxes_a`` (K, 4) float32, ``boxes_b`` (K, 4) float32 and ``ids`` (K,) int64,
    and metainfo ``views`` = (a, b). Metainfo of the sample: the ``meta_keys``
    present in the results.

    Note that ``BaseDataElement.to(device)`` does not move tensors held in a list:
    the model moves ``view_pairs`` itself.

    Required keys: ``img`` (list of HxWx3 uint8), ``view_pairs``.

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

        pairs = []
        for pair in results['view_pairs']:
            pairs.append(InstanceData(
                metainfo=dict(views=tuple(int(v) for v in pair['views'])),
                boxes_a=torch.as_tensor(pair['boxes_a'], dtype=torch.float32),
                boxes_b=torch.as_tensor(pair['boxes_b'], dtype=torch.float32),
                ids=torch.as_tensor(pair['ids'], dtype=torch.int64)))

        metainfo = {k: results[k] for k in self.meta_keys if k in results}
        data_sample = BaseDataElement(metainfo=metainfo)
        data_sample.view_pairs = pairs
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
