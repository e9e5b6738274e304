"""Pipeline transform that loads an image file, skipping an unusable one."""
from typing import Optional

from mmcv.transforms import BaseTransform
from mmengine.logging import MMLogger

from objcon.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageOrSkip(BaseTransform):
    """Load an image file as mmcv's ``LoadImageFromFile`` does (cv2, colour, BGR
    uint8); an unusable file is logged and the sample dropped.

    The file is judged by its content, as the proposal precompute judges it
    (:func:`~objcon.proposals.decode_image`): magic bytes and a real decode, never
    the extension, so a PNG named ``.jpg`` loads and a truncated JPEG does not.
    For an unusable file (unreadable, empty, not an image, truncated, corrupt) it
    logs one warning with the reason and returns None: mmengine's ``BaseDataset``
    then uses another random sample, and ``UnlabeledImageDataset`` counts the
    file and stops the run once too many fail. Local files only.

    Required keys: ``img_path``. Added keys: ``img``, ``img_shape``,
    ``ori_shape``.
    """

    def __init__(self) -> None:
        # Paths found unusable in this process (each dataloader worker has its own).
        self._unusable = set()

    def transform(self, results: dict) -> Optional[dict]:
        from objcon.proposals import read_image
        path = results['img_path']
        img, reason = read_image(path)
        if img is None:
            self._unusable.add(path)
            MMLogger.get_current_instance().warning(
                f'{path}: {reason} -> skipped, another image is used '
                f'({len(self._unusable)} unusable file(s) so far in this process)')
            return None
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
