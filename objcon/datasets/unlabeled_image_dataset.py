"""An unlabeled image folder that checks its files and proposal caches up front."""
import os
from typing import List, Optional, Sequence, Set

from mmengine.logging import MMLogger
from mmpretrain.datasets import CustomDataset

from objcon.errors import InputError
from objcon.registry import DATASETS


@DATASETS.register_module()
class UnlabeledImageDataset(CustomDataset):
    """Unlabeled images for pretraining, checked before the first iteration.

    mmpretrain's ``CustomDataset`` (``with_label=False``: a folder, searched
    recursively, or an ``ann_file`` listing paths) with three checks, so that a
    run does not die at iteration N for something knowable at iteration 0.
    An ``ann_file`` ending in ``.json`` is a COCO-style json used only for its
    image list: the ``file_name`` of each entry of ``images``, read by
    :func:`~objcon.datasets.coco_image_list.read_coco_image_list`, which
    never decodes ``annotations`` (pretraining sees no ground truth); every
    listed file must exist under ``data_prefix``. The checks:

    * the folder walk follows symbolic links once per real folder (a loop is
      named in a warning, each real file listed once; see
      :func:`~objcon.proposals.walk_files`);
    * every ``LoadProposals`` with a cache in the pipeline checks it against the
      dataset's files (:meth:`~objcon.datasets.transforms.LoadProposals.
      check_images`): a cache made from other files is refused; images the cache
      lacks are refused (``on_missing='error'``) or counted; images the
      precompute skipped (unreadable, not images) are left out, with one log
      line counting them, and so are images with fewer cached boxes than its
      ``min_boxes``;
    * during training, a sample the pipeline drops (``LoadImageOrSkip`` on a file
      that no longer decodes) is replaced by another one (mmengine's retry) and
      counted; once more than ``max_bad_fraction`` of the dataset's images have
      failed in one data-loading process, the run stops with an error.

    Args:
        data_root (str): Root of ``data_prefix`` and ``ann_file``. Defaults to
            ''.
        data_prefix (str | dict): The image folder. Defaults to ''.
        ann_file (str): A text file listing image paths (relative to the image
            folder), one a line, or a COCO-style ``.json`` (its image list
            only); empty: walk the folder. Defaults to ''.
        extensions (Sequence[str]): File name endings of images, for the walk.
            Defaults to mmpretrain's (``.jpg``, ``.jpeg``, ``.png``, ``.ppm``,
            ``.bmp``, ``.pgm``, ``.tif``).
        max_bad_fraction (float): Stop once more than this fraction of the
            images failed to load in one process. Defaults to 0.01.
        with_label (bool): Must be False (accepted so that a config can switch
            ``type`` from ``CustomDataset`` alone). Defaults to False.
        **kwargs: Other arguments of ``CustomDataset`` / ``BaseDataset``
            (``pipeline``, ``lazy_init``, ``max_refetch`` ...).
    """

    def __init__(self,
                 data_root: str = '',
                 data_prefix='',
                 ann_file: str = '',
                 extensions: Sequence[str] = ('.jpg', '.jpeg', '.png', '.ppm',
                                              '.bmp', '.pgm', '.tif'),
                 max_bad_fraction: float = 0.01,
                 with_label: bool = False,
                 **kwargs) -> None:
        if with_label:
            raise ValueError('UnlabeledImageDataset has no labels: with_label must '
                             'be False (use mmpretrain.CustomDataset for labels)')
        if not 0 <= max_bad_fraction <= 1:
            raise ValueError(f'max_bad_fraction must be in [0, 1], got '
                             f'{max_bad_fraction}')
        self.max_bad_fraction = max_bad_fraction
        self._file_sizes: Optional[dict] = None
        # Indices whose sample the pipeline dropped, in this process.
        self._unusable: Set[int] = set()
        super().__init__(data_root=data_root, data_prefix=data_prefix,
                         ann_file=ann_file, with_label=False, extensions=extensions,
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        if not self.ann_file.lower().endswith('.json'):
            return super().load_data_list()
        from .coco_image_list import read_coco_image_list
        names = read_coco_image_list(self.ann_file)
        sizes, absent = {}, []
        for name in names:
            try:
                sizes[name] = os.stat(os.path.join(self.img_prefix, name)).st_size
            except OSError:
                absent.append(name)
        if absent:
            raise InputError(
                f'{len(absent)} of the {len(names)} images listed in '
                f'{self.ann_file!r} are not in {self.img_prefix!r} (e.g. '
                f'{", ".join(absent[:3])}): is data_prefix the folder of that '
                f'list?')
        # Sizes from the listing spare the cache check a second stat per image.
        self._file_sizes = sizes
        return [{'img_path': os.path.join(self.img_prefix, name)}
                for name in names]

    def _find_samples(self) -> List[str]:
        from objcon.proposals import walk_files
        entries = sorted(walk_files(self.img_prefix, self.extensions))
        if not entries:
            raise InputError(f'found no image under {self.img_prefix!r} (file '
                             f'names ending in {", ".join(self.extensions)})')
        # Sizes from the walk spare the cache check a second stat per image.
        self._file_sizes = dict(entries)
        return [key for key, _ in entries]

    def filter_data(self) -> List[dict]:
        from objcon.datasets.transforms import LoadProposals
        from objcon.proposals import CacheMismatchError
        from objcon.proposals.cache import rebuild_hint
        logger = MMLogger.get_current_instance()
        data_list = super().filter_data()
        for transform in self.pipeline.transforms:
            if not isinstance(transform, LoadProposals) or not transform.cache_dir:
                continue
            paths = [info['img_path'] for info in data_list]
            sizes = None
            if self._file_sizes is not None:
                prefix_len = len(self.img_prefix.rstrip('/')) + 1
                sizes = [self._file_sizes.get(p[prefix_len:], -1) for p in paths]
            missing, skipped = transform.check_images(paths, sizes)
            cache = transform.cache_dir
            if missing and transform.on_missing == 'error':
                raise CacheMismatchError(
                    f'{len(missing)} of the {len(paths)} images of '
                    f'{self.img_prefix!r} are not in the proposal cache {cache!r} '
                    f'(e.g. {", ".join(missing[:3])}): it was made for another '
                    f'image list. Recompute it: {rebuild_hint(cache, self.img_prefix)}'
                    f', or set on_missing to \'whole_image\' or \'empty\' in '
                    f'LoadProposals')
            if missing:
                logger.warning(f'{len(missing)} of the {len(paths)} images are not '
                               f'in the proposal cache {cache!r}: they get '
                               f'on_missing={transform.on_missing!r} boxes')
            if skipped:
                left_out = set(skipped)
                data_list = [info for info in data_list
                             if info['img_path'] not in left_out]
                logger.warning(
                    f'left out {len(skipped)} of the {len(paths)} images: the '
                    f'precompute of {cache!r} skipped them as unusable files (e.g. '
                    f'{", ".join(skipped[:3])}; its log says why)')
            few = set(transform.images_with_few_boxes(
                [info['img_path'] for info in data_list]))
            if few:
                data_list = [info for info in data_list
                             if info['img_path'] not in few]
                logger.info(f'left out {len(few)} images with fewer than '
                            f'{transform.min_boxes} boxes in {cache!r} '
                            f'(LoadProposals min_boxes)')
        if not data_list:
            raise InputError(f'no usable image left in {self.img_prefix!r}')
        return data_list

    def prepare_data(self, idx: int):
        data = super().prepare_data(idx)
        if data is None and not self.test_mode:
            self._unusable.add(idx)
            if len(self._unusable) > self.max_bad_fraction * len(self):
                raise InputError(
                    f'{len(self._unusable)} of the {len(self)} images of '
                    f'{self.img_prefix!r} could not be used (see the warnings '
                    f'above): more than max_bad_fraction={self.max_bad_fraction} '
                    f'of the dataset. Stopping: fix or remove the files, or raise '
                    f'max_bad_fraction in the dataset config')
        return data
