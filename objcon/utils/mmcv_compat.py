"""numpy 2 fix for ``mmcv.adjust_hue`` (mmcv 2.1.0).

``mmcv.adjust_hue`` shifts the hue channel with ``np.uint8(hue_factor * 255)``; under
numpy 2 a negative factor raises ``OverflowError: Python integer -17 out of bounds
for uint8`` (numpy 1 wrapped it silently). mmpretrain's ``ColorJitter`` calls it with
a factor drawn from ``[-hue, hue]``, so every SoCo/BYOL colour pipeline crashes about
half the time. objcon replaces the function with one that wraps the shift modulo 256
explicitly, which is what numpy 1 computed, for both backends.
"""
from typing import Optional

import cv2
import numpy as np
from PIL import Image


def adjust_hue(img: np.ndarray, hue_factor: float,
               backend: Optional[str] = None) -> np.ndarray:
    """``mmcv.adjust_hue`` with the hue shift wrapped modulo 256.

    Args:
        img (np.ndarray): Image (BGR) to adjust.
        hue_factor (float): Shift of the hue channel in [-0.5, 0.5].
        backend (str, optional): 'cv2' or 'pillow'; None uses mmcv's imread
            backend. Defaults to None.

    Returns:
        np.ndarray: The adjusted image.
    """
    import mmcv.image.io as mmcv_io
    backend = mmcv_io.imread_backend if backend is None else backend
    if backend not in ('cv2', 'pillow'):
        raise ValueError(f'backend: {backend} is not supported.')
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor:{hue_factor} is not in [-0.5, 0.5].')
    if not (isinstance(img, np.ndarray) and img.ndim in (2, 3)):
        raise TypeError('img should be ndarray with dim=[2 or 3].')
    # What np.uint8(negative int) gave under numpy 1: wrap modulo 256.
    shift = np.uint8(int(hue_factor * 255) % 256)
    if backend == 'pillow':
        assert img.dtype == np.uint8, 'Pillow backend only support uint8 type'
        pil_image = Image.fromarray(np.ascontiguousarray(img[..., ::-1]), mode='RGB')
        h, s, v = pil_image.convert('HSV').split()
        np_h = np.array(h, dtype=np.uint8)
        with np.errstate(over='ignore'):
            np_h += shift
        pil_image = Image.merge('HSV', (Image.fromarray(np_h, 'L'), s, v))
        return np.array(pil_image.convert('RGB'), dtype=img.dtype)[..., ::-1]
    dtype = img.dtype
    hsv_img = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    h, s, v = cv2.split(hsv_img)
    with np.errstate(over='ignore'):
        h = h.astype(np.uint8) + shift
    return cv2.cvtColor(cv2.merge([h, s, v]), cv2.COLOR_HSV2BGR_FULL).astype(dtype)


def patch_mmcv_adjust_hue() -> None:
    """Install `adjust_hue` in mmcv (idempotent)."""
    import mmcv
    import mmcv.image
    import mmcv.image.photometric
    for module in (mmcv, mmcv.image, mmcv.image.photometric):
        module.adjust_hue = adjust_hue
