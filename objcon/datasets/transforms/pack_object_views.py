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
    pairs; ``view_crops`` ((V, 4) float32 crop of each view, xyxy on the original
    image) and ``view_flips`` ((V,) bool) from ``view_params``; ``region_maps``
    ((V, h, w) tensor of the views' label maps, dtype kept) when
    ``region_map_key`` is in the results. Metainfo of the sample: the
    ``meta_keys`` present in the results.

    Required keys: ``img`` (list of HxWx3 uint8); ``view_pairs``,
    ``view_params`` and ``region_map_key`` are packed when present.

    Args:
        meta_keys (Sequence[str]): Keys copied into the sample's metainfo when
            present. Defaults to ('img_path', 'ori_shape', 'img_shape',
            'view_params').
        region_map_key (str): The views' label maps (a list, from
            ``ObjectViews(region_map=...)``). Defaults to ``'region_map'``.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('img_path', 'ori_shape', 'img_shape',
                                             'view_params'),
                 region_map_key: str = 'region_map') -> None:
        self.meta_keys = tuple(meta_keys)
        self.region_map_key = region_map_key

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
        if 'view_params' in results:
            params = results['view_params']
            data_sample.view_crops = torch.from_numpy(np.stack(
                [np.asarray(p['crop'], np.float32) for p in params]))
            data_sample.view_flips = torch.tensor([bool(p['flip']) for p in params])
        maps = results.get(self.region_map_key)
        if maps is not None:
            assert isinstance(maps, (list, tuple)), \
                f'{self.region_map_key} must be the list of ObjectViews\' ' \
                'per-view label maps'
            data_sample.region_maps = torch.from_numpy(np.stack(maps))
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(meta_keys={self.meta_keys}, '
                f'region_map_key={self.region_map_key!r})')
