"""Image decoding and resizing shared by the proposal sources and the tools."""
import os.path as osp
from typing import Optional, Tuple

import cv2
import numpy as np

# Files whose extension says JPEG must end with the EOI marker; a truncated JPEG
# still decodes (the missing rows come out grey), so cv2 alone would not notice.
JPEG_EXTS = ('.jpg', '.jpeg', '.jpe')


def to_bgr8(img: np.ndarray) -> np.ndarray:
    """Any decoded image as HxWx3 uint8 BGR, the pipeline's ``results['img']``.

    Gray (HxW or HxWx1) is replicated, the alpha of BGRA is dropped, 16-bit and float
    images are rescaled to 8 bits (float assumed in [0, 1] if its max is <= 1).

    Args:
        img (np.ndarray): The image.

    Returns:
        np.ndarray: A contiguous HxWx3 uint8 array (``img`` itself if already so).
    """
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f'not an image: shape {img.shape}')
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = img.astype(np.float32)
        if img.size and img.max() <= 1:
            img = img * 255
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] == 4:
        img = img[..., :3]
    return np.ascontiguousarray(img)


def read_image(path: str) -> Tuple[Optional[np.ndarray], str]:
    """Decode an image file as mmcv's ``LoadImageFromFile`` does (cv2, colour).

    Decoding exactly like the data pipeline (``cv2.IMREAD_COLOR``: EXIF orientation
    applied, gray/RGBA/16-bit turned into 8-bit BGR) keeps cached boxes on the same
    pixels the pipeline will see.

    Args:
        path (str): Image file.

    Returns:
        tuple: ``(img, '')`` with a HxWx3 uint8 BGR image, or ``(None, reason)``
        when the file cannot be used (unreadable, corrupt, truncated, too large).
    """
    try:
        with open(path, 'rb') as f:
            buf = f.read()
    except OSError as e:
        return None, f'unreadable: {e}'
    if not buf:
        return None, 'empty file'
    if (osp.splitext(path)[1].lower() in JPEG_EXTS
            and not buf.rstrip(b'\0').endswith(b'\xff\xd9')):
        return None, 'truncated JPEG (no end-of-image marker)'
    try:
        img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as e:  # e.g. over OpenCV's pixel limit
        return None, f'cannot decode: {str(e).strip().splitlines()[-1]}'
    if img is None:
        return None, 'cannot decode (corrupt or unsupported format)'
    return to_bgr8(img), ''


def downscaled_size(img_hw: Tuple[int, int],
                    max_side: Optional[int]) -> Tuple[int, int]:
    """(h, w) of an image of size ``img_hw`` after :func:`resize_max_side`."""
    h, w = img_hw
    if max_side is None or max(h, w) <= max_side:
        return h, w
    r = max_side / max(h, w)
    return max(1, round(h * r)), max(1, round(w * r))


def resize_max_side(img: np.ndarray,
                    max_side: Optional[int]) -> Tuple[np.ndarray, Tuple[float, float]]:
    """Downscale (never upscale) so that the longer side is at most ``max_side``.

    Args:
        img (np.ndarray): HxWxC image.
        max_side (int, optional): Longest side after resizing; None keeps the image.

    Returns:
        tuple: The (possibly) resized image and ``(sx, sy)``, the factors that map
        its pixel coordinates back to ``img``'s (x * sx, y * sy).
    """
    h, w = img.shape[:2]
    nh, nw = downscaled_size((h, w), max_side)
    if (nh, nw) == (h, w):
        return img, (1.0, 1.0)
    small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    return small, (w / nw, h / nh)


def scale_boxes_back(boxes: np.ndarray, factors: Tuple[float, float],
                     img_hw: Tuple[int, int]) -> np.ndarray:
    """Map xyxy boxes from a resized image back to the original one, clipped.

    Args:
        boxes (np.ndarray): (N, 4) boxes in the resized image's pixels.
        factors (tuple[float, float]): ``(sx, sy)`` from :func:`resize_max_side`.
        img_hw (tuple[int, int]): (H, W) of the original image.

    Returns:
        np.ndarray: (N, 4) float32 boxes in the original image's pixels.
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4) * np.float32(
        [factors[0], factors[1], factors[0], factors[1]])
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, img_hw[1])
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, img_hw[0])
    return boxes
