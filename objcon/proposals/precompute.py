"""Run a proposal source over a dataset into a resumable cache."""
import multiprocessing as mp
import os.path as osp
from typing import NamedTuple, Optional, Tuple

import numpy as np
from mmengine.logging import MMLogger

from objcon.registry import PROPOSAL_SOURCES
from .base import BaseProposalSource, ProposalStatus
from .cache import ProposalCache, ProposalCacheWriter
from .dataset_index import dataset_fingerprint, list_images
from .image_ops import content_digest, decode_image, read_file

# Per worker process: the source, built once by the pool initializer.
_WORKER_SOURCE: Optional[BaseProposalSource] = None
_WORKER_ROOT = ''


def _init_worker(source_cfg: dict, img_root: str) -> None:
    global _WORKER_SOURCE, _WORKER_ROOT
    import cv2
    cv2.setNumThreads(1)  # one process per core; no oversubscription
    _WORKER_SOURCE = PROPOSAL_SOURCES.build(source_cfg)
    _WORKER_ROOT = img_root


class ImageProposals(NamedTuple):
    """What the precompute records of one image file."""
    boxes: np.ndarray  # (N, 4) float32 pixel xyxy
    size: Tuple[int, int]  # (H, W) decoded, (0, 0) if not decoded
    status: int  # ProposalStatus
    message: str  # why the status is not OK
    unit: Tuple[float, float]  # the source's box grid
    file_size: int  # bytes of the file (0 if unreadable)
    digest: int  # content_digest of the file (0 if unreadable)
    mask: Optional[np.ndarray] = None  # (H, W) segment ids of a mask source


def process_image(source: BaseProposalSource, img_root: str,
                  key: str) -> ImageProposals:
    """Proposals of one image file; never raises for a bad image.

    Args:
        source (BaseProposalSource): The source.
        img_root (str): Root the key is relative to.
        key (str): The image's key.

    Returns:
        ImageProposals: An image that cannot be used is ``SKIPPED`` with no box
        and size (0, 0); the message says why. A mask source
        (``source.has_masks``) also gives the label map of the same segmentation.
    """
    no_box = np.zeros((0, 4), np.float32)
    buf, reason = read_file(osp.join(img_root, key))
    if buf is None:
        return ImageProposals(no_box, (0, 0), int(ProposalStatus.SKIPPED), reason,
                              (1.0, 1.0), 0, 0)
    file_size, digest = len(buf), content_digest(buf)
    img, reason = decode_image(buf)
    if img is None:
        return ImageProposals(no_box, (0, 0), int(ProposalStatus.SKIPPED), reason,
                              (1.0, 1.0), file_size, digest)
    mask = None
    try:
        if source.has_masks:  # one segmentation gives the boxes and the map
            result, mask = source.segment_and_propose(img, key)
        else:
            result = source.get_proposals(img, key)
    except Exception as e:  # noqa: BLE001 -- one image must not stop the run
        return ImageProposals(no_box, img.shape[:2], int(ProposalStatus.SKIPPED),
                              f'{type(e).__name__}: {e}', (1.0, 1.0), file_size,
                              digest)
    return ImageProposals(result.boxes, img.shape[:2], int(result.status),
                          result.message, result.unit, file_size, digest, mask)


def _work(key: str):
    return process_image(_WORKER_SOURCE, _WORKER_ROOT, key)


def precompute_proposals(source: dict,
                         img_root: str,
                         out_dir: str,
                         ann_file: Optional[str] = None,
                         workers: int = 0,
                         chunk_size: int = 256,
                         overwrite: bool = False,
                         show_progress: bool = True,
                         wait: bool = False) -> ProposalCache:
    """Compute a source's proposals for every image of a dataset, resumably.

    Running it again with the same arguments after a kill continues from the last
    written chunk; the result is identical to an uninterrupted run. Bad images are
    logged and recorded (``SKIPPED`` or ``FALLBACK`` status), never fatal.

    Args:
        source (dict): Config of a per-image source in ``PROPOSAL_SOURCES``.
        img_root (str): Image folder (recursive; ImageNet's ``class/xxx.JPEG``
            layout works) or, with ``ann_file``, the root of its ``file_name``\\ s.
        out_dir (str): Cache directory.
        ann_file (str, optional): COCO json listing the images. Defaults to None.
        workers (int): Worker processes; 0 computes in this process. Defaults to 0.
        chunk_size (int): Images per atomically written chunk. Defaults to 256.
        overwrite (bool): Replace a cache made for another dataset or source, or
            rebuild a damaged one. Defaults to False.
        show_progress (bool): Show a tqdm progress bar. Defaults to True.
        wait (bool): If another process is writing ``out_dir``, wait for it
            instead of refusing. Defaults to False.

    Returns:
        ProposalCache: The complete cache.

    Raises:
        CacheMismatchError: If ``out_dir`` holds a (partial) cache of another
            dataset or source and ``overwrite`` is False.
        CacheDamagedError: If ``out_dir`` holds a damaged cache and
            ``overwrite`` is False.
        CacheBusyError: If another process is writing ``out_dir`` and ``wait``
            is False.
    """
    logger = MMLogger.get_current_instance()
    built = PROPOSAL_SOURCES.build(source)
    if not isinstance(built, BaseProposalSource):
        raise TypeError(f'{type(built).__name__} is not a per-image source')
    entries = list_images(img_root, ann_file)
    if not entries:
        raise ValueError(f'no image found under {img_root!r}')
    keys = [k for k, _ in entries]
    meta = dict(source=built.params, fingerprint=dataset_fingerprint(entries),
                num_images=len(keys), chunk_size=chunk_size,
                img_root=osp.abspath(img_root),
                ann_file=osp.abspath(ann_file) if ann_file else None)
    writer = ProposalCacheWriter(out_dir, meta, overwrite=overwrite, wait=wait)
    num_chunks = (len(keys) + chunk_size - 1) // chunk_size
    if writer.complete:
        logger.info(f'{out_dir}: already complete for this dataset and source')
        return ProposalCache(out_dir)
    try:
        return _compute_chunks(writer, built, img_root, keys, num_chunks,
                               chunk_size, workers, show_progress)
    finally:
        writer.close()


def _compute_chunks(writer: ProposalCacheWriter, built: BaseProposalSource,
                    img_root: str, keys: list, num_chunks: int, chunk_size: int,
                    workers: int, show_progress: bool) -> ProposalCache:
    """Compute and write the chunks the writer lacks, then finalize."""
    logger = MMLogger.get_current_instance()
    out_dir = writer.path
    done = writer.done_chunks()
    todo = [i for i in range(num_chunks) if i not in done]
    todo_keys = [k for i in todo for k in keys[i * chunk_size:(i + 1) * chunk_size]]
    if done:
        logger.info(f'{out_dir}: resuming, {len(done)}/{num_chunks} chunks done')

    bar = None
    if show_progress:
        from tqdm import tqdm
        bar = tqdm(total=len(keys), initial=len(keys) - len(todo_keys),
                   desc='proposals', unit='img', dynamic_ncols=True)
    pool = None
    if workers > 0:
        # The source's params (not the object) travel to the workers.
        pool = mp.get_context('fork').Pool(
            workers, initializer=_init_worker, initargs=(built.params, img_root))
        results = pool.imap(_work, todo_keys, chunksize=4)
    else:
        results = (process_image(built, img_root, k) for k in todo_keys)
    problems = 0
    try:
        for i in todo:
            chunk_keys = keys[i * chunk_size:(i + 1) * chunk_size]
            found = []
            for key in chunk_keys:
                image = next(results)
                if image.status != ProposalStatus.OK:
                    problems += 1
                    action = ('skipped' if image.status == ProposalStatus.SKIPPED
                              else 'whole-image fallback' if len(image.boxes)
                              else 'no box')
                    logger.warning(f'{key}: {image.message} -> {action}')
                found.append(image)
                if bar is not None:
                    bar.update(1)
            writer.write_chunk(i, chunk_keys, *(
                [getattr(image, field) for image in found]
                for field in ('boxes', 'size', 'status', 'unit', 'file_size',
                              'digest')),
                masks=[image.mask for image in found] if built.has_masks else None)
    finally:
        if pool is not None:
            pool.terminate()
        if bar is not None:
            bar.close()
    cache = writer.finalize(num_chunks)
    logger.info(f'{out_dir}: {len(cache)} images, {cache.meta["num_boxes"]} boxes'
                f'{", label maps" if cache.has_masks else ""}, '
                f'{cache.nbytes()} bytes; status {cache.meta["status_counts"]}')
    if problems:
        logger.warning(f'{problems} image(s) were skipped or fell back (see above)')
    return cache


def load_cache_for(img_root: str, cache_dir: str,
                   ann_file: Optional[str] = None,
                   content_checks: int = 64) -> ProposalCache:
    """Open a cache after checking it was made for exactly this dataset.

    Args:
        img_root (str): The image folder (see :func:`list_images`).
        cache_dir (str): The cache directory.
        ann_file (str, optional): COCO json listing the images. Defaults to None.
        content_checks (int): Images compared by content (see
            :meth:`ProposalCache.verify`). Defaults to 64.

    Returns:
        ProposalCache: The opened cache.

    Raises:
        CacheMismatchError: If the images listed, their sizes or the contents
            of those read differ from the cache's.
    """
    cache = ProposalCache(cache_dir)
    cache.verify(img_root, list_images(img_root, ann_file), content_checks,
                 exact=True)
    return cache


