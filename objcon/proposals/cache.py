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
    .partial/     only while being written: manifest.json + chunk_XXXXXX.npz

Boxes are stored as non-negative integers ``q`` on a per-image grid: the pixel box is
``q * (sx, sy, sx, sy)``, clipped to the image. The grid is the source's own when it
has one (selective search on an image downscaled by (sx, sy) gives integer boxes of
the small image), which makes the round trip exact; otherwise whole pixels, and boxes
off the grid are rounded to the nearest pixel. The integers are uint8 if they fit,
else uint16 (else uint32), row-major (x1, y1, x2, y2), raw-deflate-compressed when
that is smaller: ``codec = width code (0: uint8, 1: uint16, 2: uint32) | 4 *
compressed``. Per-image arrays use the smallest unsigned type that holds them.

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

from .base import ProposalStatus

CACHE_FORMAT = 'objcon-proposals/1'
_ARRAYS = ('codes', 'offsets', 'codecs', 'grids', 'sizes', 'status')
_WIDTHS = (np.uint8, np.uint16, np.uint32)
_COMPRESSED = 4
# What must match for a partial or complete cache to be reused.
_IDENTITY = ('format', 'source', 'fingerprint', 'num_images', 'chunk_size')


class CacheMismatchError(RuntimeError):
    """A cache was made for another dataset or with other parameters."""


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


class ProposalCache:
    """Read-only access to a complete cache directory.

    Args:
        path (str): The cache directory.

    Raises:
        FileNotFoundError: If ``path`` holds no complete cache.
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
        with open(meta_file) as f:
            self.meta = json.load(f)
        if self.meta.get('format') != CACHE_FORMAT:
            raise CacheMismatchError(f'{path!r} has format {self.meta.get("format")!r},'
                                     f' expected {CACHE_FORMAT!r}')
        with open(osp.join(path, 'keys.json')) as f:
            self.keys: List[str] = json.load(f)
        self._index = {k: i for i, k in enumerate(self.keys)}
        self.codes, self.offsets, self.codecs, self.grids, self.sizes, self.status = (
            np.load(osp.join(path, f'{name}.npy'), mmap_mode='r') for name in _ARRAYS)

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

    def nbytes(self) -> int:
        """Bytes on disk of the cache's files."""
        return sum(osp.getsize(osp.join(self.path, f))
                   for f in ('meta.json', 'keys.json', *(f'{a}.npy' for a in _ARRAYS)))

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

    Args:
        path (str): The cache directory.
        meta (dict): Must hold ``source`` (params), ``fingerprint``,
            ``num_images`` and ``chunk_size``; anything else JSON-serialisable is
            stored too (e.g. ``img_root``).
        overwrite (bool): Replace a cache or partial cache made for another
            dataset or source instead of refusing. Defaults to False.

    Raises:
        CacheMismatchError: If ``path`` holds a (partial) cache whose identity
            (source params, fingerprint, size, chunking) differs from ``meta``'s.
    """

    def __init__(self, path: str, meta: dict, overwrite: bool = False) -> None:
        self.path = path
        self.partial = osp.join(path, '.partial')
        self.meta = dict(meta, format=CACHE_FORMAT)
        # Normalise through JSON so comparisons see what a reader would.
        self.meta = json.loads(_json_bytes(self.meta))
        self.complete = False
        os.makedirs(path, exist_ok=True)
        meta_file = osp.join(path, 'meta.json')
        if osp.isfile(meta_file):
            # Chunking does not matter once a cache is complete.
            if self._matches('complete cache', self._read_json(meta_file),
                             _IDENTITY[:-1], overwrite):
                self.complete = True
                return
            os.remove(meta_file)  # first: the old cache stops being complete
        manifest = osp.join(self.partial, 'manifest.json')
        if osp.isfile(manifest) and not self._matches(
                'partial cache', self._read_json(manifest), _IDENTITY, overwrite):
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
                    units: Optional[Sequence[Tuple[float, float]]] = None) -> None:
        """Atomically write chunk ``i`` (one entry per image, in dataset order).

        ``units`` are the sources' box grids (see :func:`encode_boxes`); default
        whole pixels.
        """
        if units is None:
            units = [(1.0, 1.0)] * len(keys)
        counts = np.array([len(b) for b in boxes], np.int64)
        packed = (np.concatenate([np.asarray(b, np.float32).reshape(-1, 4)
                                  for b in boxes]) if len(boxes)
                  else np.zeros((0, 4), np.float32))
        path = self._chunk_file(i)
        tmp = f'{path}.tmp{os.getpid()}'
        with open(tmp, 'wb') as f:
            np.savez(f, keys=np.array(list(keys), dtype=str), counts=counts,
                     boxes=packed, sizes=np.asarray(sizes, np.int32).reshape(-1, 2),
                     status=np.asarray(status, np.uint8),
                     units=np.asarray(units, np.float32).reshape(-1, 2))
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
        for i in range(num_chunks):
            with np.load(self._chunk_file(i)) as chunk:
                keys.extend(chunk['keys'].tolist())
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
            status=np.concatenate(status).astype(np.uint8))
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
        return ProposalCache(self.path)


def write_proposal_cache(path: str,
                         boxes: Dict[str, np.ndarray],
                         sizes: Optional[Dict[str, Tuple[int, int]]] = None,
                         status: Optional[Dict[str, int]] = None,
                         units: Optional[Dict[str, Tuple[float, float]]] = None,
                         meta: Optional[dict] = None,
                         overwrite: bool = False) -> ProposalCache:
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

    Returns:
        ProposalCache: The written cache.
    """
    from .dataset_index import dataset_fingerprint
    keys = sorted(boxes)
    meta = dict(meta or {})
    meta.setdefault('source', {})
    meta.setdefault('fingerprint', dataset_fingerprint([(k, -1) for k in keys]))
    meta.update(num_images=len(keys), chunk_size=max(1, len(keys)))
    writer = ProposalCacheWriter(path, meta, overwrite=overwrite)
    writer.write_chunk(0, keys, [boxes[k] for k in keys],
                       [(sizes or {}).get(k, (0, 0)) for k in keys],
                       [int((status or {}).get(k, ProposalStatus.OK)) for k in keys],
                       [(units or {}).get(k, (1.0, 1.0)) for k in keys])
    return writer.finalize(1)
