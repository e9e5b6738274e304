"""Pipeline transform that attaches proposals to a sample."""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import MMLogger

from objcon.registry import PROPOSAL_SOURCES, TRANSFORMS


@TRANSFORMS.register_module()
class LoadProposals(BaseTransform):
    """Set ``results['proposals']``, (N, 4) float32 pixel xyxy on ``results['img']``.

    Boxes come either from a cache written by ``tools/precompute_proposals.py``
    (offline) or from a per-image source run on the decoded image (online). Place
    it right after ``LoadImageFromFile``, before any geometric transform. A mask
    source (``FelzenszwalbSegments``) also sets ``results['proposal_masks']``
    (HxW int32 segment ids); with ``mask_key`` the label map goes there, read
    from the cache (made by a mask source) or computed online. An image the
    cache lacks (``on_missing`` not ``'error'``) gets one segment, id 0.

    An image is named by its path relative to ``img_root`` (``/`` separators), as
    in the cache.

    Required keys: ``img``, ``img_path``. Added keys: ``proposals``
    (``proposal_masks`` for online mask sources, ``mask_key`` when set).

    Args:
        cache (str, optional): Cache directory. Defaults to None.
        source (dict, optional): Config of a per-image source in
            ``PROPOSAL_SOURCES``. Exactly one of ``cache`` and ``source``.
            Defaults to None.
        img_root (str, optional): Root the keys are relative to. Defaults to the
            ``img_root`` recorded in the cache, or, online, the image path itself.
        on_missing (str): An image absent from the cache: ``'error'`` (KeyError
            naming the image and the cache), ``'whole_image'`` (one box
            ``[0, 0, W, H]``) or ``'empty'`` (no box). Defaults to ``'error'``.
        check_fingerprint (bool): Refuse a cache whose boxes were computed on
            other image files (file sizes of all images, contents of a sample,
            see :meth:`~objcon.proposals.ProposalCache.verify`).
            ``UnlabeledImageDataset`` checks once before training (see
            :meth:`check_images`); elsewhere the check runs on first use in each
            process and lists ``img_root`` (one stat per image). False skips it
            with a warning. Defaults to True.
        ann_file (str, optional): COCO json the cache was made from, for the
            check on first use. Defaults to None.
        min_boxes (int): Images with fewer cached boxes (a whole-image fallback
            counts as one) are not used: ``UnlabeledImageDataset`` leaves them
            out before training (:meth:`images_with_few_boxes`), with one log
            line counting them; elsewhere the transform drops such a sample.
            DETReg needs 2 (its reference draws another image instead, every
            epoch). Cache only. Defaults to 0.
        mask_key (str, optional): Where the image's (H, W) int32 label map is
            written (e.g. ``'region_map'`` for ``ObjectViews(region_map=...)``,
            DetCon's masks); ids are the segmentation's, never wrapped. Needs a
            cache with label maps or a mask source. Defaults to None (no map
            from a cache; ``proposal_masks`` for an online mask source).
    """

    def __init__(self,
                 cache: Optional[str] = None,
                 source: Optional[dict] = None,
                 img_root: Optional[str] = None,
                 on_missing: str = 'error',
                 check_fingerprint: bool = True,
                 ann_file: Optional[str] = None,
                 min_boxes: int = 0,
                 mask_key: Optional[str] = None) -> None:
        if (cache is None) == (source is None):
            raise ValueError('LoadProposals needs exactly one of `cache` and `source`')
        if min_boxes and cache is None:
            raise ValueError('LoadProposals: min_boxes needs a cache (the images '
                             'with too few boxes are left out before training)')
        if on_missing not in ('error', 'whole_image', 'empty'):
            raise ValueError(f"on_missing must be 'error', 'whole_image' or 'empty', "
                             f'got {on_missing!r}')
        self.cache_dir = cache
        self.source_cfg = source
        self.img_root = img_root
        self.on_missing = on_missing
        self.check_fingerprint = check_fingerprint
        self.ann_file = ann_file
        self.min_boxes = int(min_boxes)
        self.mask_key = mask_key
        # Opened lazily: each dataloader worker maps the cache itself.
        self._cache = None
        # Set by check_images (the dataset's check before training); travels to
        # the dataloader workers with the pipeline.
        self._checked = False
        self.source = PROPOSAL_SOURCES.build(source) if source is not None else None
        if mask_key is not None and self.source is not None and \
                not self.source.has_masks:
            raise ValueError(f'LoadProposals: mask_key={mask_key!r} needs a mask '
                             f'source, {type(self.source).__name__} gives no masks')

    @property
    def cache(self):
        if self._cache is None and self.cache_dir is not None:
            from objcon.proposals import ProposalCache, load_cache_for
            cache = ProposalCache(self.cache_dir)
            if not self._checked:  # not checked by the dataset before training
                if self.check_fingerprint:
                    load_cache_for(self._root(cache), self.cache_dir, self.ann_file)
                else:
                    self._warn_unchecked()
            if self.mask_key is not None and not cache.has_masks:
                cache.get_mask('')  # raises, naming the cache and the fix
            self._cache = cache
        return self._cache

    def _root(self, cache) -> Optional[str]:
        return self.img_root or cache.meta.get('img_root')

    def _warn_unchecked(self) -> None:
        MMLogger.get_current_instance().warning(
            f'LoadProposals(check_fingerprint=False): the proposal cache '
            f'{self.cache_dir!r} is NOT checked against the images; if it was made '
            f'for other images, training uses wrong boxes without another word')

    def check_images(
            self,
            img_paths: Sequence[str],
            file_sizes: Optional[Sequence[int]] = None
    ) -> Tuple[List[str], List[str]]:
        """Check the cache against a dataset's images, once, before training.

        With ``check_fingerprint`` the cache must have been made from these very
        files (:meth:`~objcon.proposals.ProposalCache.verify`); without it a
        warning says the check is skipped. Either way the processes that receive
        this transform afterwards (dataloader workers) do not check again.

        Args:
            img_paths (Sequence[str]): The dataset's image paths.
            file_sizes (Sequence[int], optional): Their sizes in bytes (-1:
                missing), if already known. Defaults to one stat per image.

        Returns:
            tuple[list[str], list[str]]: The paths of the images the cache lacks,
            and of those the precompute skipped (unusable files). Both empty for
            an online source.

        Raises:
            CacheMismatchError: If the cache's boxes were computed on other files.
        """
        if self.cache_dir is None:
            return [], []
        from objcon.proposals import ProposalCache
        cache = ProposalCache(self.cache_dir)
        root = self._root(cache)
        keys = [self._key(path, root) for path in img_paths]
        if self.check_fingerprint:
            if file_sizes is None:
                file_sizes = [osp.getsize(p) if osp.isfile(p) else -1
                              for p in img_paths]
            missing, skipped = cache.verify(root, list(zip(keys, file_sizes)))
        else:
            self._warn_unchecked()
            missing, skipped = cache.missing_and_skipped(keys)
        self._checked = True
        path_of = dict(zip(keys, img_paths))
        return [path_of[k] for k in missing], [path_of[k] for k in skipped]

    def images_with_few_boxes(self, img_paths: Sequence[str]) -> List[str]:
        """The paths among ``img_paths`` whose cached boxes are fewer than
        ``min_boxes`` (none when ``min_boxes`` is 0; images the cache lacks are
        not counted here)."""
        if not self.min_boxes:
            return []
        from objcon.proposals import ProposalCache
        cache = self._cache or ProposalCache(self.cache_dir)
        root = self._root(cache)
        keys = [self._key(path, root) for path in img_paths]
        return [path for path, key in zip(img_paths, keys)
                if key in cache and len(cache[key]) < self.min_boxes]

    def _key(self, img_path: str, root: Optional[str] = None) -> str:
        root = root or self.img_root
        if root is None and self.cache is not None:
            root = self._root(self.cache)
        key = osp.relpath(img_path, root) if root else img_path
        return key.replace(os.sep, '/')

    def _from_cache(self, results: dict) -> np.ndarray:
        img = results['img']
        key = self._key(results['img_path'])
        if key not in self.cache:
            if self.on_missing == 'error':
                self.cache.index(key)  # raises a KeyError naming image and cache
            if self.mask_key is not None:
                results[self.mask_key] = np.zeros(img.shape[:2], np.int32)
            if self.on_missing == 'whole_image':
                h, w = img.shape[:2]
                return np.array([[0, 0, w, h]], np.float32)
            return np.zeros((0, 4), np.float32)
        size = self.cache.get_size(key)
        if size != (0, 0) and size != tuple(img.shape[:2]):
            raise ValueError(
                f'{key}: cached boxes are for a {size[1]}x{size[0]} image, the '
                f'pipeline decoded {img.shape[1]}x{img.shape[0]}; put LoadProposals '
                f'right after LoadImageFromFile (default colour decoding)')
        if self.mask_key is not None:
            mask = self.cache.get_mask(key)
            if mask.shape != img.shape[:2]:  # a skipped image: one segment
                mask = np.zeros(img.shape[:2], np.int64)
            results[self.mask_key] = mask.astype(np.int32)
        return self.cache[key]

    def transform(self, results: dict) -> Optional[dict]:
        if self.source is not None:
            key = self._key(results['img_path'])
            if self.source.has_masks:  # one segmentation gives masks and boxes
                found, masks = self.source.segment_and_propose(results['img'], key)
                results['proposals'] = found.boxes
                results[self.mask_key or 'proposal_masks'] = masks
            else:
                results['proposals'] = self.source(results['img'], key)
        else:
            results['proposals'] = self._from_cache(results)
            if len(results['proposals']) < self.min_boxes:
                return None  # mmengine's dataset takes another sample
        return results

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_cache'] = None  # reopened (memory-mapped) in the worker
        return state

    def __repr__(self) -> str:
        what = f'cache={self.cache_dir!r}' if self.cache_dir else f'source={self.source!r}'
        return f'{type(self).__name__}({what}, on_missing={self.on_missing!r})'
