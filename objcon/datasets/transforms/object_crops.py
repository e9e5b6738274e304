"""Pipeline transform that crops each target box out of the image."""
from typing import List, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform, Compose

from objcon.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ObjectCrops(BaseTransform):
    """Crop every ``gt_bboxes`` box from the image, resize it and colour it.

    The crops are what a frozen network embeds as the targets of DETReg's
    embedding branch and UP-DETR's patch queries. Place it before any geometric
    transform (the crops come from the image as decoded, as the references crop
    the original image) and after :class:`ProposalsAsInstances`: crop ``i`` is
    the box with object id ``i``.

    Required keys: ``img`` (HxWx3 uint8), ``gt_bboxes``.

    Added keys: ``object_crops`` ((N, size_h, size_w, 3) uint8, BGR kept).

    Args:
        size (int | tuple[int, int]): Output (w, h) of every crop; an int gives
            a square. Defaults to 128.
        pipeline (Sequence[dict]): Photometric transforms applied to each crop
            on its own (``{'img': crop}``); they must not move pixels.
            Defaults to [].
    """

    def __init__(self, size: Union[int, Tuple[int, int]] = 128,
                 pipeline: Sequence[dict] = ()) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.pipeline = Compose([TRANSFORMS.build(t) for t in pipeline])

    def crop(self, img: np.ndarray, box: np.ndarray) -> np.ndarray:
        """One box's resized, coloured crop (whole pixels, at least one)."""
        h, w = img.shape[:2]
        x1, y1 = (int(np.clip(np.floor(v), 0, m - 1)) for v, m in
                  zip(box[:2], (w, h)))
        x2, y2 = (int(np.clip(np.ceil(v), lo + 1, m)) for v, lo, m in
                  zip(box[2:], (x1, y1), (w, h)))
        patch = cv2.resize(img[y1:y2, x1:x2], self.size,
                           interpolation=cv2.INTER_LINEAR)
        return self.pipeline(dict(img=patch))['img']

    def transform(self, results: dict) -> dict:
        img = results['img']
        boxes = results['gt_bboxes']
        if hasattr(boxes, 'numpy'):  # mmdet's HorizontalBoxes
            boxes = boxes.numpy()
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        crops: List[np.ndarray] = [self.crop(img, b) for b in boxes]
        results['object_crops'] = np.stack(crops) if crops else np.zeros(
            (0, self.size[1], self.size[0], 3), np.uint8)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, '
                f'pipeline={self.pipeline})')
