"""Image files a user's folder may hold, made from generated images."""
import os
import os.path as osp

import cv2
import numpy as np


def scene(seed: int, size=(64, 80)) -> np.ndarray:
    """A BGR image with a few coloured rectangles (something to find boxes on)."""
    rng = np.random.default_rng(seed)
    h, w = size
    img = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
    for _ in range(3):
        x1, y1 = rng.integers(0, w // 2), rng.integers(0, h // 2)
        x2, y2 = x1 + rng.integers(8, w // 2), y1 + rng.integers(8, h // 2)
        img[y1:y2, x1:x2] = rng.integers(80, 256, 3)
    return img


def jpeg(img: np.ndarray) -> bytes:
    return cv2.imencode('.jpg', img)[1].tobytes()


def png(img: np.ndarray) -> bytes:
    return cv2.imencode('.png', img)[1].tobytes()


# name -> (content, whether it is a usable image)
def bad_and_tricky_files(seed: int = 100) -> dict:
    """Unusable files and valid images that look wrong by name or ending."""
    good = jpeg(scene(seed))
    return {
        'zero_bytes.jpg': (b'', False),
        'text.jpg': (b'this is a text file, not a JPEG\n', False),
        'truncated.jpg': (good[:len(good) * 2 // 3], False),
        'png_named.jpg': (png(scene(seed + 1)), True),
        'trailing_bytes.jpg': (jpeg(scene(seed + 2)) + b'\0' * 50 + b'garbage', True),
    }


def write_files(root: str, files: dict) -> None:
    os.makedirs(root, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, tuple):
            content = content[0]
        with open(osp.join(root, name), 'wb') as f:
            f.write(content)


def write_good_images(root: str, num: int, seed: int = 0) -> None:
    write_files(root, {f'{i:03d}.jpg': jpeg(scene(seed + i)) for i in range(num)})


def write_same_names_and_sizes(root_a: str, root_b: str, num: int) -> None:
    """Two folders of different images with the same file names and sizes (each
    JPEG padded with bytes after its end marker to one common size)."""
    a = [jpeg(scene(i)) for i in range(num)]
    b = [jpeg(scene(1000 + i)) for i in range(num)]
    size = max(map(len, a + b)) + 16
    for root, blobs in ((root_a, a), (root_b, b)):
        write_files(root, {f'{i:03d}.jpg': blob + b'\0' * (size - len(blob))
                           for i, blob in enumerate(blobs)})
