"""The list of images a cache is made for, and its fingerprint."""
import hashlib
import json
import os
import os.path as osp
from typing import List, Optional, Tuple

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.jpe', '.png', '.bmp', '.tif', '.tiff', '.webp',
                  '.ppm', '.pgm', '.pbm')


def list_images(img_root: str, ann_file: Optional[str] = None) -> List[Tuple[str, int]]:
    """The images of a dataset as sorted ``(key, file size)`` pairs.

    The key is the image's path relative to ``img_root`` with ``/`` separators; it
    is how a cache and ``LoadProposals`` name an image.

    Args:
        img_root (str): An image folder, searched recursively (so the ImageNet
            layout ``root/class/xxx.JPEG`` works), or, with ``ann_file``, the folder
            COCO ``file_name`` entries are relative to.
        ann_file (str, optional): A COCO json; its images are listed instead of the
            folder's. Defaults to None.

    Returns:
        list[tuple[str, int]]: Sorted by key. A COCO image missing on disk has
        size -1 (the precompute logs and skips it).
    """
    if ann_file is not None:
        with open(ann_file) as f:
            names = [im['file_name'] for im in json.load(f)['images']]
        entries = []
        for name in sorted(set(names)):
            path = osp.join(img_root, name)
            entries.append((name.replace(os.sep, '/'),
                            osp.getsize(path) if osp.isfile(path) else -1))
        return entries
    if not osp.isdir(img_root):
        raise FileNotFoundError(f'image folder not found: {img_root}')
    entries = []
    for dirpath, dirnames, filenames in os.walk(img_root, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith('.')]
        for name in filenames:
            if name.lower().endswith(IMG_EXTENSIONS) and not name.startswith('.'):
                path = osp.join(dirpath, name)
                key = osp.relpath(path, img_root).replace(os.sep, '/')
                entries.append((key, osp.getsize(path)))
    entries.sort()
    return entries


def dataset_fingerprint(entries: List[Tuple[str, int]]) -> str:
    """SHA-256 (hex) of the sorted ``key<TAB>size`` lines of a dataset."""
    digest = hashlib.sha256()
    for key, size in sorted(entries):
        digest.update(f'{key}\t{size}\n'.encode())
    return digest.hexdigest()
