"""A compact proposal cache with O(1) random access, written resumably.

Layout of a cache directory::

    meta.json     format, source params, dataset fingerprint, counts (written last:
                  its presence marks a complete cache)
    keys.json     the image keys (paths relative to the image root), row order
    codes.npy     (B,) uint8: every image's encoded boxes, concatenated
    offsets.npy   (N + 1,) int64: image i's bytes are codes[offsets[i]:offsets[i + 1]]
    codecs.npy    (N,) uint8: how image i's bytes are encoded (see below)
    grids.npy     (N, 2) uint: (h, w) of image i's box grid; its unit (pixel size)
                  is (sx, sy) = (W / w, H / h); (0, 0) means whole pixels
    sizes.npy     (N, 2) uint: (H, W) of each decoded image (0, 0 if skipped)
    status.npy    (N,) uint8: :class:`~objcon.proposals.ProposalStatus`
    filesizes.npy (N,) uint: bytes of each image file (0 if unreadable)
    digests.npy   (N,) uint64: 64-bit BLAKE2b of each image file (0: unknown)
    mask_codes.npy, mask_offsets.npy, mask_codecs.npy
                  only for mask sources (FelzenszwalbSegments): each image's
                  label map, encoded as its boxes are (see below)
    .partial/     only while being written: manifest.json + chunk_XXXXXX.npz
    .lock         locked (POSIX lock) by the one process writing the cache

``filesizes`` and ``digests`` let a reader check that the image files are the ones
the boxes were computed on (caches written before them lack both; see
:meth:`ProposalCache.verify`).

Boxes are stored as non-negative integers ``q`` on a per-image grid: the pixel box is
``q * (sx, sy, sx, sy)``, clipped to the image. The grid is the source's own when it
has one (selective search on an image downscaled by (sx, sy) gives integer boxes of
the small image), which makes the round trip exact; otherwise whole pixels, and boxes
off the grid are rounded to the nearest pixel. The integers are uint8 if they fit,
else uint16 (else uint32), row-major (x1, y1, x2, y2), raw-deflate-compressed when
that is smaller: ``codec = width code (0: uint8, 1: uint16, 2: uint32) | 4 *
compressed``. Per-image arrays use the smallest unsigned type that holds them.

A label map (H, W) of segment ids >= 0 is stored row-major in the smallest unsigned
type that holds its largest id (uint16 past 255 segments, never a wrapped uint8),
raw-deflated when that is smaller, with the same codec byte; its shape is the
image's size.

The arrays are memory-mapped (``np.load(mmap_mode='r')``), so opening a cache of a
million images reads only ``keys.json``; a lookup reads and decodes one slice.
"""
import json
import os
import os.path as osp
import shutil
import zlib
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
from mmengine.logging import MMLogger

from objcon.errors import InputError
from .base import ProposalStatus
from .image_ops import content_digest, read_file

CACHE_FORMAT = 'objcon-proposals/1'
_ARRAYS = ('codes', 'offsets', 'codecs', 'grids', 'sizes', 'status')
# Per-image file identity; absent from caches written before it existed.
_FILE_ARRAYS = ('filesizes', 'digests')
# A mask source's label maps; absent from box-only caches.
_MASK_ARRAYS = ('mask_codes', 'mask_offsets', 'mask_codecs')
_WIDTHS = (np.uint8, np.uint16, np.uint32)
_COMPRESSED = 4
# What must match for a partial or complete cache to be reused.
_IDENTITY = ('format', 'source', 'fingerprint', 'num_images', 'chunk_size')


class CacheMismatchError(InputError):
    """A cache was made for another dataset or with other parameters."""


class CacheDamagedError(InputError):
    """A cache file is truncated, unreadable or inconsistent with the others."""


class CacheBusyError(InputError):
    """Another process is writing the cache."""


def rebuild_hint(path: str, img_root: Optional[str] = None) -> str:
    """The command that rebuilds the cache at ``path``."""
    return (f'python tools/precompute_proposals.py {img_root or "IMG_ROOT"} {path} '
            f'--source SOURCE --overwrite')


def _atomic_write_bytes(path: str, data: bytes) -> None:
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # readers see the old file or the new one, never half


def _atomic_save_npy(path: str, array: np.ndarray) -> None:
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        np.save(f, array)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _json_bytes(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(',', ':')).encode()


def _smallest_uint(array: np.ndarray) -> np.ndarray:
    top = int(array.max()) if array.size else 0
    return array.astype(next(t for t in _WIDTHS if top <= np.iinfo(t).max))


def _deflate(data: bytes) -> bytes:
    # Raw deflate: no zlib header/checksum, 6 bytes less per image.
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def grid_unit(grid, size) -> np.ndarray:
    """(sx, sy) float32 pixel size of a box grid (h, w) on an image (H, W)."""
    (gh, gw), (h, w) = (int(v) for v in grid), (int(v) for v in size)
    if gh <= 0 or gw <= 0 or h <= 0 or w <= 0:
        return np.ones(2, np.float32)
    return np.array([w / gw, h / gh], np.float32)


def unit_to_grid(unit, size) -> Tuple[int, int]:
    """The grid (h, w) whose unit on an image (H, W) is exactly ``unit``, else
    (0, 0) (whole pixels)."""
    h, w = (int(v) for v in size)
    sx, sy = (float(v) for v in unit)
    if h <= 0 or w <= 0 or (sx, sy) == (1.0, 1.0):
        return 0, 0
    grid = (max(1, round(h / sy)), max(1, round(w / sx)))
    if np.array_equal(grid_unit(grid, size), np.asarray(unit, np.float32)):
        return grid
    return 0, 0


def encode_boxes(boxes: np.ndarray,
                 unit: Tuple[float, float] = (1.0, 1.0)) -> Tuple[bytes, int, np.ndarray]:
    """Encode one image's boxes (see the module docstring).

    Args:
        boxes (np.ndarray): (N, 4) pixel xyxy boxes.
        unit (tuple[float, float]): The source's grid (sx, sy). Defaults to pixels.

    Returns:
        tuple: ``(bytes, codec, unit)`` with the grid actually used (float32 (2,)):
        ``unit`` if the boxes lie on it (to 1e-3 of a unit), else whole pixels.
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    grid = np.asarray(unit, np.float32)
    q = np.round(boxes / np.tile(grid, 2))
    if len(boxes) and np.abs(q * np.tile(grid, 2) - boxes).max() > 1e-3 * grid.min():
        grid = np.ones(2, np.float32)
        q = np.round(boxes)
    q = q.clip(0, None)
    top = q.max() if q.size else 0
    width = next(i for i, t in enumerate(_WIDTHS) if top <= np.iinfo(t).max)
    data = q.astype(_WIDTHS[width]).tobytes()
    packed = _deflate(data)
    if len(packed) < len(data):
        return packed, width | _COMPRESSED, grid
    return data, width, grid


def decode_boxes(data, codec: int, unit, size=(0, 0)) -> np.ndarray:
    """Inverse of :func:`encode_boxes`: (N, 4) float32 pixel xyxy, clipped to
    ``size`` (H, W) unless it is (0, 0)."""
    data = bytes(data)
    if codec & _COMPRESSED:
        data = zlib.decompress(data, -15)
    q = np.frombuffer(data, _WIDTHS[codec & 3]).reshape(-1, 4)
    unit = np.asarray(unit, np.float32)
    boxes = q.astype(np.float32) * np.tile(unit, 2)
    h, w = int(size[0]), int(size[1])
    if h > 0 and w > 0:
        np.minimum(boxes, np.array([w, h, w, h], np.float32), out=boxes)
    return boxes


def encode_label_map(labels: Optional[np.ndarray]) -> Tuple[bytes, int]:
    """Encode one image's label map (see the module docstring).

    Args:
        labels (np.ndarray, optional): (H, W) integer segment ids >= 0; None (an
            image without a map, e.g. skipped) encodes as no bytes.

    Returns:
        tuple: ``(bytes, codec)``.
    """
    if labels is None or labels.size == 0:
        return b'', 0
    labels = np.asarray(labels)
    if labels.dtype.kind not in 'iu' or labels.min() < 0:
        raise ValueError(f'a label map must hold integer ids >= 0, got '
                         f'{labels.dtype} with minimum {labels.min()}')
    top = int(labels.max())
    if top > np.iinfo(np.uint32).max:
        raise ValueError(f'segment id {top} does not fit in uint32')
    width = next(i for i, t in enumerate(_WIDTHS) if top <= np.iinfo(t).max)
    data = np.ascontiguousarray(labels, _WIDTHS[width]).tobytes()
    packed = _deflate(data)
    if len(packed) < len(data):
        return packed, width | _COMPRESSED
    return data, width


def decode_label_map(data, codec: int, size) -> np.ndarray:
    """Inverse of :func:`encode_label_map`: (H, W) int64 ids of an image of size
    ``size`` (H, W); (0, 0) if the image has no map."""
    data = bytes(data)
    if not data:
        return np.zeros((0, 0), np.int64)
    if codec & _COMPRESSED:
        data = zlib.decompress(data, -15)
    h, w = int(size[0]), int(size[1])
    return np.frombuffer(data, _WIDTHS[codec & 3]).reshape(h, w).astype(np.int64)


class ProposalCache:
    """Read-only access to a complete cache directory.

    Opening checks that every file is readable and that the files agree with each
    other (lengths, offsets), so a truncated or damaged cache is refused at once
    instead of failing on some later lookup.

    Args:
        path (str): The cache directory.

    Raises:
        FileNotFoundError: If ``path`` holds no complete cache.
        CacheDamagedError: If a file of the cache is truncated, unreadable or
            inconsistent; the message names the cache, the file and the command
            that rebuilds it.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        meta_file = osp.join(path, 'meta.json')
        if not osp.isfile(meta_file):
            hint = (' It is incomplete: rerun tools/precompute_proposals.py with the '
                    'same arguments to resume it.'
                    if osp.isdir(osp.join(path, '.partial')) else '')
            raise FileNotFoundError(f'no proposal cache at {path!r} (meta.json '
                                    f'missing).{hint}')
        self.meta = {}
        self.meta = self._load_json('meta.json', dict)
        if self.meta.get('format') != CACHE_FORMAT:
            raise CacheMismatchError(f'{path!r} has format {self.meta.get("format")!r},'
                                     f' expected {CACHE_FORMAT!r}')
        self.keys: List[str] = self._load_json('keys.json', list)
        self._index = {k: i for i, k in enumerate(self.keys)}
        self.codes, self.offsets, self.codecs, self.grids, self.sizes, self.status = (
            self._load_array(name) for name in _ARRAYS)
        self.filesizes, self.digests = (
            self._load_array(name)
            if osp.exists(osp.join(path, f'{name}.npy')) else None
            for name in _FILE_ARRAYS)
        self.mask_codes, self.mask_offsets, self.mask_codecs = (
            (self._load_array(name) for name in _MASK_ARRAYS)
            if osp.exists(osp.join(path, 'mask_offsets.npy')) else (None, ) * 3)
        self._check_consistency()

    def _damaged(self, name: str, why: str) -> CacheDamagedError:
        return CacheDamagedError(
            f'proposal cache {self.path!r} is damaged: {name} {why}. Rebuild it: '
            f'{rebuild_hint(self.path, self.meta.get("img_root"))}')

    def _load_json(self, name: str, kind: type):
        try:
            with open(osp.join(self.path, name)) as f:
                value = json.load(f)
        except (OSError, ValueError) as e:  # ValueError: bad JSON or encoding
            raise self._damaged(name, f'cannot be read ({e})') from None
        if not isinstance(value, kind):
            raise self._damaged(name, f'holds a {type(value).__name__}, expected a '
                                f'{kind.__name__}')
        return value

    def _load_array(self, name: str) -> np.ndarray:
        try:
            return np.load(osp.join(self.path, f'{name}.npy'), mmap_mode='r')
        except (OSError, ValueError, EOFError) as e:  # missing, truncated
            raise self._damaged(f'{name}.npy', f'cannot be read ({e})') from None

    def _check_consistency(self) -> None:
        n = len(self.keys)
        if self.meta.get('num_images', n) != n:
            raise self._damaged('keys.json', f'lists {n} images, meta.json '
                                f'{self.meta["num_images"]}')
        if len(self._index) != n:
            raise self._damaged('keys.json', 'lists an image twice')
        if self.offsets.shape != (n + 1,):
            raise self._damaged('offsets.npy', f'has shape {self.offsets.shape}, '
                                f'expected ({n + 1},)')
        if self.codes.shape != (int(self.offsets[-1]),):
            raise self._damaged('codes.npy', f'has {self.codes.size} bytes, the '
                                f'offsets need {int(self.offsets[-1])}')
        for name in ('codecs', 'grids', 'sizes', 'status', *_FILE_ARRAYS,
                     'mask_codecs'):
            array = getattr(self, name)
            if array is not None and len(array) != n:
                raise self._damaged(f'{name}.npy', f'has {len(array)} rows, '
                                    f'expected {n}')
        if self.has_masks:
            if self.mask_offsets.shape != (n + 1,):
                raise self._damaged('mask_offsets.npy', f'has shape '
                                    f'{self.mask_offsets.shape}, expected ({n + 1},)')
            if self.mask_codes.shape != (int(self.mask_offsets[-1]),):
                raise self._damaged('mask_codes.npy', f'has {self.mask_codes.size} '
                                    f'bytes, the offsets need '
                                    f'{int(self.mask_offsets[-1])}')

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: str) -> bool:
        return key in self._index

    def index(self, key: str) -> int:
        """Row of ``key``; KeyError with the cache's path if absent."""
        try:
            return self._index[key]
        except KeyError:
            raise KeyError(f'image {key!r} is not in the proposal cache {self.path!r} '
                           f'({len(self)} images)') from None

    def __getitem__(self, key: str) -> np.ndarray:
        """(N, 4) float32 pixel xyxy boxes of image ``key``."""
        i = self.index(key)
        return decode_boxes(self.codes[self.offsets[i]:self.offsets[i + 1]],
                            int(self.codecs[i]), grid_unit(self.grids[i], self.sizes[i]),
                            self.sizes[i])

    @property
    def has_masks(self) -> bool:
        """Whether the cache holds label maps (a mask source's)."""
        return self.mask_offsets is not None

    def get_mask(self, key: str) -> np.ndarray:
        """(H, W) int64 segment ids of image ``key`` ((0, 0) if skipped).

        Raises:
            CacheMismatchError: If the cache holds no label maps.
        """
        if not self.has_masks:
            raise CacheMismatchError(
                f'proposal cache {self.path!r} holds no label maps (made with '
                f'{self.meta.get("source", {}).get("type")!r}, or before objcon '
                f'stored masks). Make it with a mask source, e.g. --source detcon: '
                f'{rebuild_hint(self.path, self.meta.get("img_root"))}')
        i = self.index(key)
        return decode_label_map(
            self.mask_codes[self.mask_offsets[i]:self.mask_offsets[i + 1]],
            int(self.mask_codecs[i]), self.sizes[i])

    def get_status(self, key: str) -> ProposalStatus:
        """How the boxes of ``key`` were obtained."""
        return ProposalStatus(int(self.status[self.index(key)]))

    def get_size(self, key: str) -> Tuple[int, int]:
        """(H, W) of image ``key`` when it was decoded for the cache."""
        h, w = self.sizes[self.index(key)]
        return int(h), int(w)

    @property
    def fingerprint(self) -> str:
        return self.meta['fingerprint']

    def check_fingerprint(self, fingerprint: str) -> None:
        """Raise :class:`CacheMismatchError` unless made for this dataset."""
        if fingerprint != self.fingerprint:
            raise CacheMismatchError(
                f'proposal cache {self.path!r} was made for another dataset: its '
                f'fingerprint is {self.fingerprint[:16]}..., the dataset\'s is '
                f'{fingerprint[:16]}... (images added, removed, renamed or changed '
                f'size). Recompute it with tools/precompute_proposals.py.')

    def missing_and_skipped(self, keys: Sequence[str]) -> Tuple[List[str], List[str]]:
        """Of ``keys``, those the cache lacks and those it holds as ``SKIPPED``."""
        missing = [key for key in keys if key not in self._index]
        held = [key for key in keys if key in self._index]
        rows = np.fromiter((self._index[key] for key in held), np.int64, len(held))
        is_skipped = np.asarray(self.status)[rows] == ProposalStatus.SKIPPED
        return missing, [key for key, s in zip(held, is_skipped) if s]

    def verify(self,
               img_root: str,
               entries: Sequence[Tuple[str, int]],
               content_checks: int = 64,
               exact: bool = False) -> Tuple[List[str], List[str]]:
        """Check that the cache's boxes were computed on these image files.

        Every listed image that the cache holds must have the file size recorded
        by the precompute; ``content_checks`` of them, spread evenly over the list,
        are read and must have the recorded content digest (file names and sizes
        alone do not tell two folders of same-named images apart). A cache
        written before per-image sizes and digests existed is checked by its
        names-and-sizes fingerprint instead, with a warning.

        Args:
            img_root (str): The folder the keys are relative to.
            entries (Sequence[tuple[str, int]]): ``(key, file size)`` of the
                images to check (size -1: missing on disk).
            content_checks (int): How many images to read and compare by
                content; all of them if there are fewer. Defaults to 64.
            exact (bool): The entries must be exactly the images the cache was
                made for (its fingerprint), not a subset. Defaults to False.

        Returns:
            tuple[list[str], list[str]]: The listed keys the cache lacks, and
            those it holds as ``SKIPPED`` (the precompute could not use them).

        Raises:
            CacheMismatchError: If an image's file size or content differs from
                the one the boxes were computed on.
        """
        from .dataset_index import dataset_fingerprint
        missing, skipped = self.missing_and_skipped([key for key, _ in entries])
        held = [(key, size) for key, size in entries if key in self._index]
        rows = np.fromiter((self._index[key] for key, _ in held), np.int64, len(held))
        if exact or self.filesizes is None:
            if self.filesizes is None:
                MMLogger.get_current_instance().warning(
                    f'proposal cache {self.path!r} has no per-image file sizes and '
                    f'digests (written by an older objcon): only its fingerprint of '
                    f'the whole image list is checked. Rebuild it to check contents:'
                    f' {rebuild_hint(self.path, img_root)}')
            self.check_fingerprint(dataset_fingerprint(entries))
        if self.filesizes is None:
            return missing, skipped
        # Vectorised: a million images take about two seconds.
        listed = np.fromiter((max(size, 0) for _, size in held), np.int64, len(held))
        differ = np.asarray(self.filesizes)[rows].astype(np.int64) != listed
        sized = [held[j][0] for j in np.flatnonzero(differ)]
        digests = np.asarray(self.digests)[rows]
        known = np.flatnonzero(digests != 0)  # 0: written without a digest
        sample = known[np.linspace(0, len(known), min(content_checks, len(known)),
                                   endpoint=False).astype(np.int64)]
        changed = []
        for j in sample:
            buf, _ = read_file(osp.join(img_root, held[j][0]))
            if buf is None or content_digest(buf) != int(digests[j]):
                changed.append(held[j][0])
        if sized or changed:
            parts = []
            if sized:
                parts.append(f'{len(sized)} of {len(rows)} images differ in file '
                             f'size (e.g. {", ".join(sized[:3])})')
            if changed:
                parts.append(f'{len(changed)} of {len(sample)} images read differ '
                             f'in content (e.g. {", ".join(changed[:3])})')
            raise CacheMismatchError(
                f'proposal cache {self.path!r} was not made from the images in '
                f'{img_root!r}: {"; ".join(parts)}. Its boxes belong to other '
                f'images. Recompute it: {rebuild_hint(self.path, img_root)}')
        return missing, skipped

    def nbytes(self) -> int:
        """Bytes on disk of the cache's files."""
        names = ('meta.json', 'keys.json',
                 *(f'{a}.npy' for a in _ARRAYS + _FILE_ARRAYS + _MASK_ARRAYS))
        return sum(osp.getsize(osp.join(self.path, f)) for f in names
                   if osp.exists(osp.join(self.path, f)))

    def __getstate__(self) -> dict:
        # Pickled into dataloader workers: reopen there instead of copying arrays.
        return dict(path=self.path)

    def __setstate__(self, state: dict) -> None:
        self.__init__(state['path'])


class ProposalCacheWriter:
    """Writes a cache in chunks; an interrupted write resumes where it stopped.

    Chunk ``i`` holds images ``i * chunk_size .. (i + 1) * chunk_size - 1`` of the
    (sorted) dataset; each is written atomically to ``.partial/``, so a kill loses
    at most the chunks in flight. :meth:`finalize` packs the chunks into the final
    arrays, each replaced atomically, and writes ``meta.json`` last.

    One process at a time writes a cache: the writer holds an exclusive POSIX
    lock on ``<path>/.lock`` from construction to :meth:`close` (or
    :meth:`finalize`). The lock belongs to the process (forked workers do not
    inherit it) and the system releases it when the process dies.

    Args:
        path (str): The cache directory.
        meta (dict): Must hold ``source`` (params), ``fingerprint``,
            ``num_images`` and ``chunk_size``; anything else JSON-serialisable is
            stored too (e.g. ``img_root``).
        overwrite (bool): Replace a cache or partial cache made for another
            dataset or source, or a damaged complete one, instead of refusing.
            Defaults to False.
        wait (bool): If another process is writing the cache, wait for it to
            finish instead of refusing. Defaults to False.

    Raises:
        CacheMismatchError: If ``path`` holds a (partial) cache whose identity
            (source params, fingerprint, size, chunking) differs from ``meta``'s.
        CacheDamagedError: If ``path`` holds a complete cache of this identity
            that is damaged, and ``overwrite`` is False.
        CacheBusyError: If another process is writing the cache and ``wait`` is
            False.
    """

    def __init__(self, path: str, meta: dict, overwrite: bool = False,
                 wait: bool = False) -> None:
        self.path = path
        self.partial = osp.join(path, '.partial')
        self.meta = dict(meta, format=CACHE_FORMAT)
        # Normalise through JSON so comparisons see what a reader would.
        self.meta = json.loads(_json_bytes(self.meta))
        self.complete = False
        self._lock_file = None
        os.makedirs(path, exist_ok=True)
        self._lock(wait)
        try:
            self._prepare(overwrite)
        except BaseException:
            self.close()
            raise
        if self.complete:
            self.close()  # nothing left to write

    def _lock(self, wait: bool) -> None:
        import fcntl
        lock_path = osp.join(self.path, '.lock')
        self._lock_file = open(lock_path, 'a+')
        try:
            fcntl.lockf(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # EACCES or EAGAIN: held by another process
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or 'unknown'
            if not wait:
                self.close()
                raise CacheBusyError(
                    f'proposal cache {self.path!r} is being written by another '
                    f'process (pid {holder}). Wait for it to finish and rerun (a '
                    f'complete cache is reused), or pass --wait.') from None
            MMLogger.get_current_instance().info(
                f'{self.path}: waiting for process {holder} to finish writing it')
            fcntl.lockf(self._lock_file, fcntl.LOCK_EX)
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()

    def close(self) -> None:
        """Release the write lock (idempotent)."""
        if self._lock_file is not None:
            self._lock_file.close()  # closing the file releases the lock
            self._lock_file = None

    def __enter__(self) -> 'ProposalCacheWriter':
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def _prepare(self, overwrite: bool) -> None:
        meta_file = osp.join(self.path, 'meta.json')
        if osp.isfile(meta_file):
            try:
                found = ProposalCache(self.path).meta
            except CacheDamagedError as e:
                if not overwrite:
                    raise
                MMLogger.get_current_instance().warning(
                    f'{e}\n--overwrite: rebuilding it from scratch')
                found = None
            # Chunking does not matter once a cache is complete.
            if found is not None and self._matches(
                    'complete cache', found, _IDENTITY[:-1], overwrite):
                self.complete = True
                return
            os.remove(meta_file)  # first: the old cache stops being complete
        manifest = osp.join(self.partial, 'manifest.json')
        if osp.isfile(manifest):
            try:
                found = self._read_json(manifest)
            except ValueError:  # a damaged manifest: its chunks cannot be trusted
                found = {}
            if not self._matches('partial cache', found, _IDENTITY, overwrite):
                shutil.rmtree(self.partial)
        os.makedirs(self.partial, exist_ok=True)
        if not osp.isfile(manifest):
            _atomic_write_bytes(manifest, _json_bytes(self.meta))

    @staticmethod
    def _read_json(path: str) -> dict:
        with open(path) as f:
            return json.load(f)

    def _matches(self, what: str, other: dict, fields: Sequence[str],
                 overwrite: bool) -> bool:
        """Whether ``other`` has our identity; if not, raise unless ``overwrite``."""
        diff = [k for k in fields if other.get(k) != self.meta.get(k)]
        if not diff or overwrite:
            return not diff
        detail = ('it was made for another dataset (fingerprint '
                  f'{str(other.get("fingerprint"))[:16]}... vs '
                  f'{str(self.meta.get("fingerprint"))[:16]}...)'
                  if 'fingerprint' in diff else f'these differ: {", ".join(diff)}')
        raise CacheMismatchError(
            f'{self.path!r} holds a {what} that does not match: {detail}. Use another '
            f'output directory, or --overwrite to replace it.')

    def _chunk_file(self, i: int) -> str:
        return osp.join(self.partial, f'chunk_{i:06d}.npz')

    def done_chunks(self) -> Set[int]:
        """Indices of the chunks already written."""
        if self.complete or not osp.isdir(self.partial):
            return set()
        return {int(f[6:12]) for f in os.listdir(self.partial)
                if f.startswith('chunk_') and f.endswith('.npz')}

    def write_chunk(self, i: int, keys: Sequence[str], boxes: Sequence[np.ndarray],
                    sizes: Sequence[Tuple[int, int]], status: Sequence[int],
                    units: Optional[Sequence[Tuple[float, float]]] = None,
                    file_sizes: Optional[Sequence[int]] = None,
                    digests: Optional[Sequence[int]] = None,
                    masks: Optional[Sequence[Optional[np.ndarray]]] = None) -> None:
        """Atomically write chunk ``i`` (one entry per image, in dataset order).

        ``units`` are the sources' box grids (see :func:`encode_boxes`); default
        whole pixels. ``file_sizes`` and ``digests`` (:func:`content_digest`)
        identify the image files; default 0 (unknown: not checked on read).
        ``masks`` are a mask source's (H, W) label maps (None for an image without
        one), each of its image's size; every chunk of a cache has them or none.
        """
        if self._lock_file is None:
            raise RuntimeError(f'the writer of {self.path!r} is closed')
        if units is None:
            units = [(1.0, 1.0)] * len(keys)
        if file_sizes is None:
            file_sizes = [0] * len(keys)
        if digests is None:
            digests = [0] * len(keys)
        counts = np.array([len(b) for b in boxes], np.int64)
        packed = (np.concatenate([np.asarray(b, np.float32).reshape(-1, 4)
                                  for b in boxes]) if len(boxes)
                  else np.zeros((0, 4), np.float32))
        mask_arrays = {}
        if masks is not None:
            encoded = []
            for key, mask, size in zip(keys, masks, sizes):
                if mask is not None and mask.size and \
                        tuple(mask.shape) != tuple(int(v) for v in size):
                    raise ValueError(f'{key}: label map {mask.shape} is not the '
                                     f'image size {tuple(size)}')
                encoded.append(encode_label_map(mask))
            mask_arrays = dict(
                mask_codes=np.frombuffer(b''.join(d for d, _ in encoded), np.uint8),
                mask_counts=np.array([len(d) for d, _ in encoded], np.int64),
                mask_codecs=np.array([c for _, c in encoded], np.uint8))
        path = self._chunk_file(i)
        tmp = f'{path}.tmp{os.getpid()}'
        with open(tmp, 'wb') as f:
            np.savez(f, **mask_arrays, keys=np.array(list(keys), dtype=str),
                     counts=counts,
                     boxes=packed, sizes=np.asarray(sizes, np.int32).reshape(-1, 2),
                     status=np.asarray(status, np.uint8),
                     units=np.asarray(units, np.float32).reshape(-1, 2),
                     filesizes=np.maximum(np.asarray(file_sizes, np.int64), 0),
                     digests=np.asarray(digests, np.uint64))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def finalize(self, num_chunks: int) -> ProposalCache:
        """Pack all chunks into the cache; returns it opened."""
        if self.complete:
            return ProposalCache(self.path)
        missing = set(range(num_chunks)) - self.done_chunks()
        if missing:
            raise RuntimeError(f'cannot finalize {self.path!r}: chunks '
                               f'{sorted(missing)[:10]} not written')
        keys: List[str] = []
        blobs, codecs, grids, sizes, status = [], [], [], [], []
        filesizes, digests = [], []
        mask_codes, mask_counts, mask_codecs = [], [], []
        for i in range(num_chunks):
            with np.load(self._chunk_file(i)) as chunk:
                keys.extend(chunk['keys'].tolist())
                if 'mask_counts' in chunk.files:
                    mask_codes.append(chunk['mask_codes'])
                    mask_counts.append(chunk['mask_counts'])
                    mask_codecs.append(chunk['mask_codecs'])
                count = len(chunk['keys'])
                # Chunks of an older writer lack the file identity: unknown (0).
                filesizes.append(chunk['filesizes'] if 'filesizes' in chunk.files
                                 else np.zeros(count, np.int64))
                digests.append(chunk['digests'] if 'digests' in chunk.files
                               else np.zeros(count, np.uint64))
                starts = np.concatenate([[0], np.cumsum(chunk['counts'])])
                for j, (unit, size) in enumerate(zip(chunk['units'], chunk['sizes'])):
                    # Only a grid that (h, w) integers reproduce exactly is kept.
                    grid = unit_to_grid(unit, size)
                    data, codec, used = encode_boxes(
                        chunk['boxes'][starts[j]:starts[j + 1]],
                        grid_unit(grid, size))
                    blobs.append(data)
                    codecs.append(codec)
                    grids.append(grid if (used != 1).any() else (0, 0))
                sizes.append(chunk['sizes'])
                status.append(chunk['status'])
        if len(keys) != self.meta['num_images']:
            raise RuntimeError(f'chunks hold {len(keys)} images, expected '
                               f'{self.meta["num_images"]}')
        num_boxes = sum(len(decode_boxes(d, c, (1, 1))) for d, c in zip(blobs, codecs))
        arrays = dict(
            codes=np.frombuffer(b''.join(blobs), np.uint8),
            offsets=np.concatenate([[0], np.cumsum([len(d) for d in blobs])]
                                   ).astype(np.int64),
            codecs=np.asarray(codecs, np.uint8),
            grids=_smallest_uint(np.asarray(grids, np.int64).reshape(-1, 2)),
            sizes=_smallest_uint(np.concatenate(sizes).astype(np.int64).reshape(-1, 2)),
            status=np.concatenate(status).astype(np.uint8),
            filesizes=_smallest_uint(np.concatenate(filesizes).astype(np.int64)),
            digests=np.concatenate(digests).astype(np.uint64))
        if mask_counts:
            if len(mask_counts) != num_chunks:
                raise RuntimeError(f'cannot finalize {self.path!r}: only '
                                   f'{len(mask_counts)} of {num_chunks} chunks hold '
                                   f'label maps')
            arrays.update(
                mask_codes=np.concatenate(mask_codes).astype(np.uint8),
                mask_offsets=np.concatenate(
                    [[0], np.cumsum(np.concatenate(mask_counts))]).astype(np.int64),
                mask_codecs=np.concatenate(mask_codecs).astype(np.uint8))
        for name in _MASK_ARRAYS:  # a rebuilt cache keeps no stale label maps
            if name not in arrays and osp.exists(osp.join(self.path, f'{name}.npy')):
                os.remove(osp.join(self.path, f'{name}.npy'))
        for name, array in arrays.items():
            _atomic_save_npy(osp.join(self.path, f'{name}.npy'), array)
        _atomic_write_bytes(osp.join(self.path, 'keys.json'),
                            json.dumps(keys, separators=(',', ':')).encode())
        stat = arrays['status']
        meta = dict(self.meta, num_boxes=int(num_boxes),
                    status_counts={s.name: int((stat == s).sum())
                                   for s in ProposalStatus})
        _atomic_write_bytes(osp.join(self.path, 'meta.json'), _json_bytes(meta))
        shutil.rmtree(self.partial, ignore_errors=True)
        self.complete = True
        self.close()
        return ProposalCache(self.path)


def write_proposal_cache(path: str,
                         boxes: Dict[str, np.ndarray],
                         sizes: Optional[Dict[str, Tuple[int, int]]] = None,
                         status: Optional[Dict[str, int]] = None,
                         units: Optional[Dict[str, Tuple[float, float]]] = None,
                         meta: Optional[dict] = None,
                         overwrite: bool = False,
                         file_sizes: Optional[Dict[str, int]] = None,
                         digests: Optional[Dict[str, int]] = None,
                         masks: Optional[Dict[str, np.ndarray]] = None
                         ) -> ProposalCache:
    """Write a whole cache at once from ``{key: (N, 4) xyxy boxes}``.

    Args:
        path (str): The cache directory.
        boxes (dict[str, np.ndarray]): Boxes per image key.
        sizes (dict, optional): (H, W) per key. Defaults to (0, 0).
        status (dict, optional): :class:`ProposalStatus` per key. Defaults to OK.
        units (dict, optional): Box grid (sx, sy) per key (see
            :func:`encode_boxes`). Defaults to whole pixels.
        meta (dict, optional): Extra metadata; ``source`` and ``fingerprint``
            default to ``{}`` and the keys' fingerprint with sizes -1.
        overwrite (bool): See :class:`ProposalCacheWriter`. Defaults to False.
        file_sizes (dict, optional): Image file size per key. Defaults to 0
            (unknown).
        digests (dict, optional): :func:`content_digest` of each image file.
            Defaults to 0 (unknown: :meth:`ProposalCache.verify` skips it).
        masks (dict, optional): (H, W) label map per key, of the size in
            ``sizes``. Defaults to None (a box-only cache).

    Returns:
        ProposalCache: The written cache.
    """
    from .dataset_index import dataset_fingerprint
    keys = sorted(boxes)
    meta = dict(meta or {})
    meta.setdefault('source', {})
    meta.setdefault('fingerprint', dataset_fingerprint([(k, -1) for k in keys]))
    meta.update(num_images=len(keys), chunk_size=max(1, len(keys)))
    with ProposalCacheWriter(path, meta, overwrite=overwrite) as writer:
        if writer.complete:
            raise FileExistsError(f'{path!r} already holds a complete cache of '
                                  f'these images and source')
        writer.write_chunk(0, keys, [boxes[k] for k in keys],
                           [(sizes or {}).get(k, (0, 0)) for k in keys],
                           [int((status or {}).get(k, ProposalStatus.OK))
                            for k in keys],
                           [(units or {}).get(k, (1.0, 1.0)) for k in keys],
                           [(file_sizes or {}).get(k, 0) for k in keys],
                           [(digests or {}).get(k, 0) for k in keys],
                           None if masks is None else [masks.get(k) for k in keys])
        return writer.finalize(1)
