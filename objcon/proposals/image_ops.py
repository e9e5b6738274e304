"""Image decoding and resizing shared by the proposal sources and the tools."""
import hashlib
import re
from typing import Optional, Tuple

import cv2
import numpy as np

# Leading bytes of the formats OpenCV decodes, to name a file's real format (its
# extension may lie: a PNG saved as .jpg is still a valid image).
_MAGIC = (
    (b'\xff\xd8\xff', 'JPEG'),
    (b'\x89PNG\r\n\x1a\n', 'PNG'),
    (b'BM', 'BMP'),
    (b'II*\x00', 'TIFF'),
    (b'MM\x00*', 'TIFF'),
    (b'GIF87a', 'GIF'),
    (b'GIF89a', 'GIF'),
    (b'\x00\x00\x00\x0cjP  ', 'JPEG 2000'),
    (b'\xff\x4f\xff\x51', 'JPEG 2000'),
    (b'\x76\x2f\x31\x01', 'OpenEXR'),
    (b'#?RADIANCE', 'HDR'),
    (b'\x59\xa6\x6a\x95', 'Sun raster'),
)
_PNM = re.compile(rb'P[1-7]\s')
_JPEG_SOS, _JPEG_EOI = 0xDA, b'\xff\xd9'
# JPEG markers without a length field (SOI, TEM, RSTn).
_JPEG_BARE = {0x01, 0xD8, *range(0xD0, 0xD8)}


def image_format(buf: bytes) -> Optional[str]:
    """The image format named by a file's leading bytes, or None if unknown.

    Args:
        buf (bytes): The file's content (its first 16 bytes suffice).

    Returns:
        str, optional: e.g. ``'JPEG'``, ``'PNG'``; None when no known signature.
    """
    for magic, name in _MAGIC:
        if buf.startswith(magic):
            return name
    if buf[:4] == b'RIFF' and buf[8:12] == b'WEBP':
        return 'WebP'
    if _PNM.match(buf[:3]):
        return 'PNM'
    return None


def jpeg_is_complete(buf: bytes) -> bool:
    """Whether a JPEG stream reaches its end-of-image marker.

    The header segments are skipped by their lengths (an EXIF thumbnail carries
    its own end marker), then the entropy-coded data is searched for the end
    marker, which cannot occur inside it. Bytes after the end marker are allowed.

    Args:
        buf (bytes): A file starting with the JPEG signature.

    Returns:
        bool: False if the file ends before its image data does.
    """
    pos = 2
    while pos + 4 <= len(buf):
        if buf[pos] != 0xFF:
            return False  # not a marker where one must be: damaged header
        marker = buf[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_BARE:
            pos += 2
            continue
        if marker == _JPEG_SOS:
            return buf.find(_JPEG_EOI, pos + 2) >= 0
        pos += 2 + int.from_bytes(buf[pos + 2:pos + 4], 'big')
    return False


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


def content_digest(buf: bytes) -> int:
    """A file content's 64-bit digest (BLAKE2b), never 0 (0 means "unknown").

    Args:
        buf (bytes): The file's content.

    Returns:
        int: The digest as an unsigned 64-bit integer.
    """
    digest = int.from_bytes(hashlib.blake2b(buf, digest_size=8).digest(), 'little')
    return digest or 1


def read_file(path: str) -> Tuple[Optional[bytes], str]:
    """The bytes of a file, or ``(None, reason)`` if it cannot be read."""
    try:
        with open(path, 'rb') as f:
            return f.read(), ''
    except OSError as e:
        return None, f'unreadable: {e.strerror or e}'


def decode_image(buf: bytes) -> Tuple[Optional[np.ndarray], str]:
    """Decode an image file's content as mmcv's ``LoadImageFromFile`` does.

    The content decides, never the file name: the format is read from the leading
    bytes, a JPEG must reach its end marker (some decoders turn a truncated one
    into grey rows without an error), and the image must really decode.

    Args:
        buf (bytes): The file's content.

    Returns:
        tuple: ``(img, '')`` with a HxWx3 uint8 BGR image, or ``(None, reason)``
        when the content is not a usable image (empty, not an image, truncated,
        corrupt, too large).
    """
    if not buf:
        return None, 'empty file'
    fmt = image_format(buf)
    if fmt == 'JPEG' and not jpeg_is_complete(buf):
        return None, 'truncated JPEG (the file ends before its image data)'
    try:
        img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as e:  # e.g. over OpenCV's pixel limit
        return None, f'cannot decode: {str(e).strip().splitlines()[-1]}'
    if img is None:
        if fmt is None:
            return None, f'not an image (content starts with {buf[:8]!r})'
        return None, f'cannot decode this {fmt} file (corrupt or truncated)'
    return to_bgr8(img), ''


def read_image(path: str) -> Tuple[Optional[np.ndarray], str]:
    """Read and decode an image file as mmcv's ``LoadImageFromFile`` does (cv2,
    colour).

    Decoding exactly like the data pipeline (``cv2.IMREAD_COLOR``: EXIF orientation
    applied, gray/RGBA/16-bit turned into 8-bit BGR) keeps cached boxes on the same
    pixels the pipeline will see. See :func:`decode_image` for what is refused.

    Args:
        path (str): Image file.

    Returns:
        tuple: ``(img, '')`` with a HxWx3 uint8 BGR image, or ``(None, reason)``
        when the file cannot be used.
    """
    buf, reason = read_file(path)
    if buf is None:
        return None, reason
    return decode_image(buf)


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
