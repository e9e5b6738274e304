"""The list of images a cache is made for, and its fingerprint."""
import hashlib
import json
import os
import os.path as osp
import stat
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.logging import MMLogger

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.jpe', '.png', '.bmp', '.tif', '.tiff', '.webp',
                  '.ppm', '.pgm', '.pbm')


def list_images(img_root: str, ann_file: Optional[str] = None) -> List[Tuple[str, int]]:
    """The images of a dataset as sorted ``(key, file size)`` pairs.

    The key is the image's path relative to ``img_root`` with ``/`` separators; it
    is how a cache and ``LoadProposals`` name an image.

    Args:
        img_root (str): An image folder, searched recursively (so the ImageNet
            layout ``root/class/xxx.JPEG`` works; symbolic links are followed
            once per real folder, see :func:`walk_files`), or, with
            ``ann_file``, the folder COCO ``file_name`` entries are relative to.
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
    return sorted(walk_files(img_root, IMG_EXTENSIONS))


def walk_files(root: str, extensions: Sequence[str]) -> List[Tuple[str, int]]:
    """Files under ``root`` with one of ``extensions``, following symbolic links
    at most once per real directory and listing each real file once.

    A link back into a folder already being listed (``up -> .``), a second path to
    a folder or file already listed, and a link that cannot be resolved (dangling,
    or pointing at itself) are skipped with a warning that names them, so a loop
    neither hangs the walk nor lists a file many times. Hidden entries (``.x``)
    are skipped. Folders are visited in sorted order, so which of two paths to one
    file is kept is deterministic (the first in that order).

    Args:
        root (str): The folder to walk.
        extensions (Sequence[str]): Lower-case name endings to keep
            (e.g. ``('.jpg', '.png')``).

    Returns:
        list[tuple[str, int]]: ``(path relative to root with / separators, file
        size)``, in walk order.
    """
    logger = MMLogger.get_current_instance()
    extensions = tuple(extensions)
    seen_dirs: Dict[Tuple[int, int], str] = {}
    seen_files: Dict[Tuple[int, int], str] = {}
    entries: List[Tuple[str, int]] = []
    root_stat = os.stat(root)
    seen_dirs[(root_stat.st_dev, root_stat.st_ino)] = '.'
    stack = ['']  # folders to list, relative to root
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(osp.join(root, rel_dir)) as it:
                names = sorted(e.name for e in it if not e.name.startswith('.'))
        except OSError as e:
            logger.warning(f'cannot list {osp.join(root, rel_dir)!r}: '
                           f'{e.strerror or e}; skipped')
            continue
        subdirs = []
        for name in names:
            rel = f'{rel_dir}/{name}' if rel_dir else name
            path = osp.join(root, rel)
            try:
                st = os.stat(path)  # follows links; ELOOP for a self-link
            except OSError as e:
                logger.warning(f'{path!r}: {e.strerror or e} (a dangling or looping '
                               f'symbolic link?); skipped')
                continue
            ident = (st.st_dev, st.st_ino)
            if stat.S_ISDIR(st.st_mode):
                if ident in seen_dirs:
                    logger.warning(
                        f'{path!r} leads to the folder already listed as '
                        f'{seen_dirs[ident]!r} (symbolic link loop or alias); '
                        f'not followed')
                    continue
                seen_dirs[ident] = rel
                subdirs.append(rel)
            elif stat.S_ISREG(st.st_mode) and name.lower().endswith(extensions):
                if ident in seen_files:
                    logger.warning(f'{path!r} is the file already listed as '
                                   f'{seen_files[ident]!r}; listed once')
                    continue
                seen_files[ident] = rel
                entries.append((rel, st.st_size))
        stack.extend(reversed(subdirs))  # depth first, in sorted order
    return entries


def dataset_fingerprint(entries: List[Tuple[str, int]]) -> str:
    """SHA-256 (hex) of the sorted ``key<TAB>size`` lines of a dataset."""
    digest = hashlib.sha256()
    for key, size in sorted(entries):
        digest.update(f'{key}\t{size}\n'.encode())
    return digest.hexdigest()
