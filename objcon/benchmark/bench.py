"""objcon-bench: object-level vs image-level pretraining vs none vs supervised, on
the demo scenes, under the protocols where pretraining is known to pay.

Data: one generated scene set. Its ``train`` split is the unlabeled pool every
self-supervised row pretrains on (through a folder that holds the images and no
annotation file); a fixed labelled subset of the pool (``Preset.labeled``
images, at most a tenth of the pool) and its first tenth are the fine-tuning
labels; ``val`` is held out for evaluation. :meth:`Bench.check_splits` refuses
a pool or label set that shares an image (by content) with ``val``.

Every row pretrains a ResNet-18 (or, DETReg, a whole Deformable DETR) for the
same budget (same images seen, same view resolution), is converted for mmdet and
then fine-tuned and evaluated under each protocol of its :class:`Track`: the
detector every row of a track fine-tunes (mmdet's Mask R-CNN, or Deformable DETR;
CocoMetric on val in the fine-tuning run's own val loop). A work dir holds one
track. Each step is the user's own tool (see
:mod:`.pipeline`); a preset only chooses lengths, sizes and seeds, and changes the
configs through ``--cfg-options`` of their named variables.

The run is resumable: a finished (method, seed) leaves a JSON record in
``<work_dir>/records`` and is skipped when the bench runs again.
"""
import json
import os
import os.path as osp
import queue
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

from .pipeline import convert, finetune, pretrain, run_tool, tool_env

FINETUNE_CONFIG = 'configs/benchmarks/mask-rcnn_r18_fpn_demo.py'
DETR_FINETUNE_CONFIG = 'configs/benchmarks/deformable-detr_r18_demo.py'


@dataclass(frozen=True)
class Method:
    """One row of the bench.

    Args:
        name (str): Row key (``--methods``).
        label (str): What the table and plot call it.
        config (str, optional): Pretraining config; None = no pretraining.
        part (str): What transfers (``convert_to_mmdet.py --part``): the
            frozen-backbone protocol also freezes the FPN of ``neck`` rows.
        proposals (str, optional): The proposal preset whose cache the
            pretraining reads (``precompute_proposals.py --source``), computed
            once per bench on the pool; None = no cache.
        views (dict): Named config variable of each view size -> its size
            relative to the preset's view size.
        heatmap_warmup (bool): Scale the heat-map warm-up with the schedule.
        kind (str): 'object', 'image', 'supervised' or 'none' (plot colour).
            Only a 'supervised' row reads labels (the pool's, never val's).
        track (str): The :data:`TRACKS` key of the detector it fine-tunes.
        image_scales (tuple): Pretraining image scales (the config's named
            ``image_scales``) relative to the preset's image size; () = the
            config has none.
        target (str, optional): The row whose pretraining checkpoint (same
            seed) is this row's frozen target network (``target_checkpoint``):
            pretrained once per seed in the work dir (:meth:`Bench.ensure_target`).
    """
    name: str
    label: str
    config: Optional[str]
    part: str = 'backbone'
    proposals: Optional[str] = None
    views: Dict[str, float] = field(default_factory=dict)
    heatmap_warmup: bool = False
    kind: str = 'image'
    track: str = 'mask-rcnn'
    image_scales: Tuple[float, ...] = ()
    target: Optional[str] = None

    @property
    def reads_labels(self) -> bool:
        return self.kind == 'supervised'


# SoCo's V1/V2 at the preset's view size, V3 at half of it.
_SOCO_VIEWS = dict(view_size=1, small_view_size=0.5)

METHODS = {m.name: m for m in [
    Method('scratch', 'scratch (no pretraining)', None, part='-', kind='none'),
    # the upper reference: Mask R-CNN trained on the pool's labels at the views'
    # resolution, for the same images seen; its backbone + FPN transfer
    Method('supervised', 'supervised (pool labels)', FINETUNE_CONFIG, part='neck',
           kind='supervised'),
    Method('byol', 'BYOL (mmpretrain)', 'configs/baselines/byol_r18_demo.py',
           views=dict(view_size=1)),
    Method('mocov2', 'MoCo v2 (mmpretrain)', 'configs/baselines/mocov2_r18_demo.py',
           views=dict(view_size=1)),
    Method('densecl', 'DenseCL (mmpretrain)', 'configs/baselines/densecl_r18_demo.py',
           views=dict(view_size=1)),
    Method('soco', 'SoCo (selective search)', 'configs/objcon/soco_r18_fpn_demo.py',
           part='neck', proposals='soco', views=_SOCO_VIEWS, kind='object'),
    Method('soco-heatmap', 'SoCo, heat-map boxes',
           'configs/objcon/soco-heatmap_r18_fpn_demo.py', part='neck',
           views=_SOCO_VIEWS, heatmap_warmup=True, kind='object'),
    Method('ccop', 'CCOP (selective search)', 'configs/objcon/ccop_r18_fpn_demo.py',
           part='neck', proposals='ccop', views=dict(view_size=1), kind='object'),
    Method('plrc', 'PLRC (grid regions)', 'configs/objcon/plrc_r18_demo.py',
           views=dict(view_size=1), kind='object'),
    # DetCo's 3x3 patches keep the demo config's patch-to-view ratio (36 / 128)
    Method('detco', 'DetCo (global + 3x3 patches)', 'configs/objcon/detco_r18_demo.py',
           views=dict(view_size=1, patch_size=36 / 128)),
    Method('detcon', 'DetCon (FH masks)', 'configs/objcon/detcon_r18_demo.py',
           proposals='detcon', views=dict(view_size=1), kind='object'),
    # The Deformable DETR track. DETReg pretrains the whole detector: all of it
    # but the class layers transfers. UP-DETR pretrains mmdet's DETR, whose
    # transformer does not fit Deformable DETR's (single-scale, no deformable
    # attention), so only its backbone transfers, and UP-DETR keeps its
    # backbone frozen at the target's weights (as the reference does): what it
    # gives Deformable DETR is its frozen BYOL target's backbone.
    Method('detr-scratch', 'Deformable DETR from scratch', None, part='-',
           kind='none', track='deformable-detr'),
    Method('detreg', 'DETReg (selective search)',
           'configs/objcon/detreg_deformable-detr_r18_demo.py', part='head',
           proposals='detreg', views=dict(crop_size=1), kind='object',
           track='deformable-detr', image_scales=(0.75, 0.875, 1.0),
           target='byol'),
    Method('updetr', 'UP-DETR (backbone only)',
           'configs/objcon/updetr_detr_r18_demo.py', views=dict(crop_size=1),
           kind='object', track='deformable-detr',
           image_scales=(0.75, 0.875, 1.0), target='byol'),
]}


@dataclass(frozen=True)
class Protocol:
    """How a pretrained row is fine-tuned and evaluated.

    Args:
        name (str): Key (``--protocols``, records, report).
        label (str): What the report calls it.
        label_fraction (float): Fraction of the preset's labelled set the
            detector is trained on.
        frozen (bool): Backbone (and the FPN of rows that pretrain one) frozen:
            only RPN and RoI heads learn; scratch keeps a random backbone.
    """
    name: str
    label: str
    label_fraction: float
    frozen: bool = False


# Fixed before any result was looked at: the label-scarce setting of DETReg and
# DetCon (10 % and 100 % of the labels, unlabeled pool >= 10x), and the frozen
# representation. The 100 % full fine-tune is also the earlier bench's protocol.
PROTOCOLS = {p.name: p for p in [
    Protocol('labels-10', 'fine-tune, 10 % labels', 0.1),
    Protocol('labels-100', 'fine-tune, 100 % labels', 1.0),
    Protocol('frozen', 'frozen backbone, 100 % labels', 1.0, frozen=True),
]}


@dataclass(frozen=True)
class Track:
    """The detector a set of rows fine-tunes, and how their results compare.

    Args:
        name (str): Key (``--track``; records, settings).
        label (str): What logs and the report call the detector.
        finetune_config (str): The fine-tuning config (named variables
            ``image_size``, ``train_ann_file``; ``frozen_modules`` where
            ``frozen`` is among ``protocols``).
        protocols (tuple): Keys of :data:`PROTOCOLS` the config supports.
        references (tuple): Rows every other row is compared with, seed by
            seed (the first is the track's scratch).
        metrics (tuple): (column, CocoMetric key) of the report's table; every
            key must be in each fine-tuning's metrics.
        preset_changes (dict): Preset name -> fields of that preset this
            track runs with (lengths the detector needs, options it takes).
    """
    name: str
    label: str
    finetune_config: str
    protocols: Tuple[str, ...]
    references: Tuple[str, ...]
    metrics: Tuple[Tuple[str, str], ...]
    preset_changes: Dict[str, Dict[str, object]] = field(default_factory=dict)

    @property
    def methods(self) -> List[str]:
        """Its rows, keys of :data:`METHODS`."""
        return [n for n, m in METHODS.items() if m.track == self.name]

    def preset(self, preset: 'Preset') -> 'Preset':
        """``preset`` as this track runs it."""
        return replace(preset, **self.preset_changes.get(preset.name, {}))


_DETR_NO_EXTRA = dict(finetune_extra=())
TRACKS = {t.name: t for t in [
    Track('mask-rcnn', 'Mask R-CNN', FINETUNE_CONFIG, tuple(PROTOCOLS),
          ('scratch', 'byol'),
          (('APbb', 'coco/bbox_mAP'), ('APbb50', 'coco/bbox_mAP_50'),
           ('APmk', 'coco/segm_mAP'))),
    # Boxes only. No frozen protocol: the Deformable DETR config has no
    # frozen_modules, and a frozen random backbone under a transformer trained
    # for minutes is not a protocol the DETR papers report. The presets'
    # finetune_extra are Mask R-CNN test options; Deformable DETR learns slower
    # than Mask R-CNN, so the cpu run fine-tunes 3x longer (timed: 0.93 s an
    # iteration of 4 images at 128 px on one core).
    Track('deformable-detr', 'Deformable DETR', DETR_FINETUNE_CONFIG,
          ('labels-10', 'labels-100'), ('detr-scratch', ),
          (('APbb', 'coco/bbox_mAP'), ('APbb50', 'coco/bbox_mAP_50'),
           ('APbb75', 'coco/bbox_mAP_75')),
          preset_changes=dict(
              # 64-px scenes: a quarter of the pixels (CI's time budget)
              smoke=dict(_DETR_NO_EXTRA, every_protocol_rows=(), image_size=64,
                         view_size=32),
              cpu=dict(_DETR_NO_EXTRA, finetune_iters=120))),
]}


@dataclass(frozen=True)
class Preset:
    """Sizes and lengths of a bench run.

    Args:
        name (str): ``smoke``, ``cpu``, ``gpu`` or ``gpu-long``.
        pool (int): Unlabeled pool (the generated train split).
        labeled (int): The labelled set (100 % labels), a subset of the pool;
            at most a tenth of it (the pool is >= 10x the labels).
        val (int): Held-out evaluation scenes.
        image_size (int): Scene side, and the fine-tuning / test resize.
        view_size (int): Pretraining view side (V3 of SoCo: half of it); the
            supervised row trains on scenes resized to it.
        pretrain_epochs (int): Epochs over the pool, every method.
        finetune_iters (int): Mask R-CNN iterations (batch 4), every row and
            protocol.
        seeds (tuple): Each seed runs the whole row (pretrain and fine-tunes).
        data (str, optional): Default data root (None: inside the work dir).
        heatmap_warmup (float): Fraction of the pretraining iterations that
            use grid boxes before the heat map.
        pretrain_batch (int): Images per pretraining iteration, every method.
        finetune_extra (tuple): More fine-tuning / test ``--cfg-options``.
        heatmap_recall_seeds (int): Sampling seeds of the heat-map recall.
        every_protocol_rows (tuple, optional): None: every row runs every
            protocol. Otherwise only these rows do, and the others run
            ``labels-100`` alone (the smoke preset: every row and every
            protocol end to end, without the whole cross product).

    A :class:`Track` may change a preset's fields (``Track.preset``).
    """
    name: str
    pool: int
    labeled: int
    val: int
    image_size: int
    view_size: int
    pretrain_epochs: int
    finetune_iters: int
    seeds: Tuple[int, ...]
    data: Optional[str] = None
    heatmap_warmup: float = 0.25
    pretrain_batch: int = 16
    finetune_extra: Tuple[str, ...] = ()
    heatmap_recall_seeds: int = 3
    every_protocol_rows: Optional[Tuple[str, ...]] = None


PRESETS = {p.name: p for p in [
    # CI: every row and every protocol end to end in minutes (each row with
    # 100 % labels; scratch, frozen without weights, and an FPN row with every
    # protocol);
    # the numbers mean nothing. A 2-iteration detector scores every object below
    # mmdet's 0.05 threshold, which would leave CocoMetric nothing to evaluate.
    Preset('smoke', pool=48, labeled=4, val=8, image_size=128, view_size=64,
           pretrain_epochs=1, finetune_iters=2, seeds=(0, ),
           finetune_extra=('model.test_cfg.rcnn.score_thr=0.0',
                           'model.test_cfg.rcnn.max_per_img=10',
                           'model.test_cfg.rpn.max_per_img=50'),
           heatmap_recall_seeds=1,
           every_protocol_rows=('scratch', 'soco')),
    # this machine (2 CPU cores, --jobs 2): <= 90 minutes for 11 rows x 3 seeds x
    # 3 protocols, so short: 40 pretraining and 40 fine-tuning iterations; at
    # most 100 RPN proposals per test image (the config: 300), fewer RoIs to
    # classify and mask in each val loop.
    Preset('cpu', pool=640, labeled=64, val=40, image_size=128, view_size=64,
           pretrain_epochs=1, finetune_iters=40, seeds=(0, 1, 2),
           data='data/bench_cpu',
           finetune_extra=('model.test_cfg.rpn.max_per_img=100', )),
    # one GPU, 16 cores, 8 rows at a time sharing it: 165 tool runs of ~10 s
    # start-up each leave ~15 s of work per run for 8 minutes (an estimate: not
    # yet run on a GPU)
    Preset('gpu', pool=1600, labeled=160, val=100, image_size=192, view_size=96,
           pretrain_epochs=1, finetune_iters=150, seeds=(0, 1, 2),
           data='data/bench_gpu'),
    # a GPU day: SoCo's 224 px views on 512 px scenes
    Preset('gpu-long', pool=20000, labeled=2000, val=500, image_size=512,
           view_size=224, pretrain_epochs=20, finetune_iters=3000,
           seeds=(0, 1, 2), data='data/bench_gpu_long'),
]}


def pretrain_options(method: Method, preset: Preset) -> List[str]:
    """The ``--cfg-options`` that size ``method``'s pretraining for ``preset``."""
    v = preset.view_size
    if method.reads_labels:
        return [f'image_size=({v},{v})',
                f'train_dataloader.batch_size={preset.pretrain_batch}']
    opts = [f'{key}={round(v * rel)}' for key, rel in method.views.items()]
    if method.image_scales:
        # (short side, long-side cap): the scenes are square
        scales = ','.join(f'({round(preset.image_size * rel)},1333)'
                          for rel in method.image_scales)
        opts.append(f'image_scales=[{scales}]')
    opts.append(f'train_dataloader.batch_size={preset.pretrain_batch}')
    if method.heatmap_warmup:
        opts.append(f'model.proposal_generator.warmup_iters='
                    f'{round(preset.heatmap_warmup * pretrain_iters(preset))}')
    return opts


def pretrain_iters(preset: Preset) -> int:
    """Iterations of a pretraining run (the configs drop the last partial batch)."""
    return preset.pretrain_epochs * (preset.pool // preset.pretrain_batch)


def labeled_count(preset: Preset, protocol: Protocol) -> int:
    """Labelled images a protocol fine-tunes on (at least one)."""
    return max(1, round(protocol.label_fraction * preset.labeled))


def finetune_options(preset: Preset, method: Optional[Method] = None,
                     protocol: Optional[Protocol] = None,
                     labels: Optional[str] = None) -> List[str]:
    """Named variables of the demo Mask R-CNN config for a row's fine-tuning:
    the resize, the label file and the frozen modules."""
    s = preset.image_size
    opts = [f'image_size=({s},{s})']
    if labels is not None:
        opts.append(f'train_ann_file={labels}')
    if protocol is not None and protocol.frozen:
        frozen = ['backbone'] + (['neck'] if method is not None and
                                 method.part in ('neck', 'head') else [])
        opts.append(f'frozen_modules=[{",".join(frozen)}]')
    return opts + list(preset.finetune_extra)


@dataclass
class Bench:
    """One bench run: a preset, the rows to run and where everything goes.

    Args:
        preset (Preset): Lengths, sizes and seeds.
        work_dir (str): Logs, checkpoints, records and the report.
        data (str): Demo scenes root (generated if absent).
        methods (Sequence[str]): Rows, keys of :data:`METHODS`.
        seeds (Sequence[int]): Overrides the preset's seeds.
        gpus (int): > 1 trains and tests with the dist_*.sh launchers.
        keep_checkpoints (bool): Keep the pretraining / fine-tuning
            checkpoints of every row (they are deleted once a row is done).
        jobs (int): Rows run at once. On a CPU machine each gets an equal
            share of the cores (``OMP_NUM_THREADS``); on a GPU machine each
            is pinned to one GPU (``CUDA_VISIBLE_DEVICES``, round robin: jobs
            may share a GPU) and gets an equal share of the cores; needs
            ``gpus == 1``. Rows that share the machine take longer: their
            times compare only with rows of a run with the same ``jobs``, which
            records keep.
        protocols (Sequence[str], optional): Keys of :data:`PROTOCOLS`, among
            the track's. Defaults to all of the track's.
        track (str): Key of :data:`TRACKS`; every row must be one of its.
    """
    preset: Preset
    work_dir: str
    data: str
    methods: Sequence[str]
    seeds: Sequence[int]
    gpus: int = 1
    keep_checkpoints: bool = False
    jobs: int = 1
    protocols: Optional[Sequence[str]] = None
    track: str = 'mask-rcnn'

    def __post_init__(self):
        if self.track not in TRACKS:
            raise ValueError(f'unknown track {self.track!r}; known: {list(TRACKS)}')
        if self.protocols is None:
            self.protocols = TRACKS[self.track].protocols
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f'unknown method(s) {unknown}; known: {list(METHODS)}')
        unknown = [p for p in self.protocols if p not in PROTOCOLS]
        if unknown:
            raise ValueError(f'unknown protocol(s) {unknown}; known: '
                             f'{list(PROTOCOLS)}')
        track = TRACKS[self.track]
        other = [m for m in self.methods if METHODS[m].track != self.track]
        if other:
            raise ValueError(
                f'row(s) {other} fine-tune another detector than the '
                f'{self.track} track\'s; its rows: {track.methods} (--track '
                f'{METHODS[other[0]].track} runs {other[0]})')
        unsupported = [p for p in self.protocols if p not in track.protocols]
        if unsupported:
            raise ValueError(
                f'the {self.track} track does not support protocol(s) '
                f'{unsupported}: {track.finetune_config} supports '
                f'{list(track.protocols)}')
        if self.jobs < 1:
            raise ValueError(f'jobs must be >= 1, got {self.jobs}')
        if self.jobs > 1 and self.gpus > 1:
            raise ValueError('jobs > 1 runs rows side by side on single GPUs: '
                             'it needs gpus == 1')
        p = self.preset
        if p.labeled < 1 or p.pool < 10 * p.labeled:
            raise ValueError(f'the pool ({p.pool}) must hold at least 10x the '
                             f'labelled images ({p.labeled})')
        self.work_dir = osp.abspath(self.work_dir)
        self.data = osp.abspath(self.data)
        self.env = tool_env(self.data)

    def check_settings(self, write: bool = True) -> None:
        """Bind the work dir to this preset and data (``settings.json``): its
        records are reused only by a bench with the same settings.

        Args:
            write (bool): Record the settings in a work dir that has none.

        Raises:
            ValueError: The work dir holds rows of other settings.
        """
        # as JSON reads them back (tuples become lists)
        settings = json.loads(json.dumps(
            dict(asdict(self.preset), seeds=None, data=self.data,
                 protocols=list(self.protocols), track=self.track)))
        path = osp.join(self.work_dir, 'settings.json')
        if osp.isfile(path):
            with open(path) as f:
                old = json.load(f)
            # written before tracks: the Mask R-CNN track's
            old.setdefault('track', 'mask-rcnn')
            if old != settings:
                diff = {k: (old.get(k), v) for k, v in settings.items()
                        if old.get(k) != v}
                raise ValueError(f'{self.work_dir} holds a bench with other '
                                 f'settings (was, now: {diff}); use another '
                                 '--work-dir')
            return
        if not write:
            return
        os.makedirs(self.work_dir, exist_ok=True)
        with open(path, 'w') as f:
            json.dump(settings, f, indent=1)

    # ---- paths
    def record_path(self, method: str, seed: int) -> str:
        return osp.join(self.work_dir, 'records', f'{method}_seed{seed}.json')

    def proposal_cache(self, source: str) -> str:
        return osp.join(self.work_dir, 'proposals', f'train_{source}')

    def target_dir(self, name: str, seed: int) -> str:
        """Where the ``name`` row's pretraining of ``seed`` is kept as a
        frozen target (not deleted with the rows' checkpoints)."""
        return osp.join(self.work_dir, 'targets', f'{name}_seed{seed}')

    @property
    def pool_root(self) -> str:
        """The self-supervised rows' data root: the pool's images, no labels."""
        return osp.join(self.work_dir, 'pool')

    def label_file(self, protocol: Protocol) -> str:
        return osp.join(self.work_dir, 'labels',
                        f'instances_labeled_{labeled_count(self.preset, protocol)}'
                        '.json')

    def plan(self) -> List[Tuple[str, int]]:
        """(method, seed) pairs still to run, seed-major (a partial run has
        every method of its first seeds)."""
        return [(m, s) for s in self.seeds for m in self.methods
                if not osp.isfile(self.record_path(m, s))]

    # ---- data
    def ensure_data(self, log) -> float:
        """Generate the scenes (pool = train split, val) unless present, then
        check their sizes against the preset."""
        from objcon.datasets.demo_scenes import demo_scenes_exist
        p = self.preset
        seconds = 0.
        if not demo_scenes_exist(self.data):
            log(f'generating {p.pool} pool + {p.val} val demo scenes at '
                f'{p.image_size} px in {self.data}')
            seconds = run_tool(
                [sys.executable, 'tools/make_demo_data.py', '--out', self.data,
                 '--train', str(p.pool), '--val', str(p.val), '--size',
                 str(p.image_size), '--quiet'], self.env,
                osp.join(self.work_dir, 'logs', 'make_demo_data.log'))
        for split, want in (('train', p.pool), ('val', p.val)):
            images = _coco(self.data, split)['images']
            sizes = {(i['width'], i['height']) for i in images}
            if len(images) != want or sizes != {(p.image_size, p.image_size)}:
                raise ValueError(
                    f'{self.data} holds {len(images)} {split} scenes of sizes '
                    f'{sorted(sizes)}; the {p.name} preset wants {want} at '
                    f'{p.image_size} px: use another --data (it is generated '
                    'when absent)')
        return seconds

    def prepare_splits(self) -> None:
        """The pool folder (images only) and the label subsets, then
        :meth:`check_splits`."""
        pool_images = osp.join(self.pool_root, 'train')
        if not osp.isdir(pool_images):
            os.makedirs(self.pool_root, exist_ok=True)
            os.symlink(osp.join(self.data, 'train'), pool_images)
        train = _coco(self.data, 'train')
        # one fixed draw (not the row seed): every row and seed fine-tunes on
        # the same images; the smaller set is a prefix of the larger
        import numpy as np
        order = np.random.default_rng(0).permutation(len(train['images']))
        os.makedirs(osp.join(self.work_dir, 'labels'), exist_ok=True)
        for protocol in PROTOCOLS.values():
            path = self.label_file(protocol)
            if osp.isfile(path):
                continue
            n = labeled_count(self.preset, protocol)
            images = [train['images'][i] for i in sorted(order[:n])]
            ids = {i['id'] for i in images}
            subset = dict(train, images=images, annotations=[
                a for a in train['annotations'] if a['image_id'] in ids])
            with open(path + '.tmp', 'w') as f:
                json.dump(subset, f)
            os.replace(path + '.tmp', path)
        self.check_splits()

    def check_splits(self) -> None:
        """Refuse a bench whose pool or label sets share an image with val
        (compared by file content), whose label sets are not drawn from the
        pool, or whose pool folder holds a label file.

        Raises:
            ValueError: With the offending files.
        """
        from objcon.proposals import content_digest

        def digests(folder, names):
            out = {}
            for name in names:
                with open(osp.join(folder, name), 'rb') as f:
                    out[content_digest(f.read())] = name
            return out
        pool_dir = osp.join(self.pool_root, 'train')
        pool = digests(pool_dir, sorted(os.listdir(pool_dir)))
        val = _coco(self.data, 'val')
        held_out = digests(osp.join(self.data, 'val'),
                           [i['file_name'] for i in val['images']])
        shared = sorted(pool[d] for d in set(pool) & set(held_out))
        if shared:
            raise ValueError(f'{len(shared)} pool image(s) are also val images '
                             f'(by content), e.g. {shared[:3]}')
        pool_names = set(pool.values())
        for protocol in PROTOCOLS.values():
            with open(self.label_file(protocol)) as f:
                names = {i['file_name'] for i in json.load(f)['images']}
            if not names <= pool_names:
                raise ValueError(f'{self.label_file(protocol)} names images '
                                 f'outside the pool: {sorted(names - pool_names)[:3]}')
        labels = [n for _, _, files in os.walk(self.pool_root, followlinks=True)
                  for n in files if n.endswith('.json')]
        if labels:
            raise ValueError(f'the pool folder {self.pool_root} holds label '
                             f'files: {labels[:3]}')

    def ensure_proposals(self, source: str, log) -> float:
        """The ``source`` proposals of the pool images, once per bench
        (seconds; recorded, so a resumed bench reports the first run's time)."""
        record = osp.join(self.work_dir, 'proposals', f'time_{source}.json')
        if osp.isfile(record):
            with open(record) as f:
                return json.load(f)['seconds']
        cache = self.proposal_cache(source)
        log(f'{source} proposals of the pool images -> {cache}')
        seconds = run_tool(
            [sys.executable, 'tools/precompute_proposals.py',
             osp.join(self.pool_root, 'train'), cache, '--source', source,
             '--workers', str(os.cpu_count() or 1)], self.env,
            osp.join(self.work_dir, 'logs', f'precompute_proposals_{source}.log'))
        with open(record, 'w') as f:
            json.dump({'seconds': seconds}, f)
        return seconds

    def ensure_target(self, name: str, seed: int, slot: int,
                      log) -> Tuple[str, float]:
        """The ``name`` row's pretraining checkpoint of ``seed`` (same pool,
        same budget), the frozen target of the rows that name it: pretrained
        by the first row that needs it, once, under a lock held by concurrent
        rows and benches alike; its time is recorded.

        Returns:
            tuple[str, float]: The checkpoint and its pretraining time (s), the
            first run's on a resumed bench.
        """
        folder = self.target_dir(name, seed)
        ckpt = osp.join(folder, f'{name}.pth')
        record = osp.join(folder, 'time.json')
        os.makedirs(folder, exist_ok=True)
        from objcon.utils import file_lock
        with file_lock(osp.join(folder, 'lock')):
            if not osp.isfile(record):
                log(f'{name} seed {seed} as a frozen target -> {ckpt}')
                trained, seconds = self._pretrain(METHODS[name], seed, folder,
                                                  slot, log)
                os.replace(trained, ckpt)
                with open(record + '.tmp', 'w') as f:
                    json.dump({'seconds': seconds}, f)
                os.replace(record + '.tmp', record)
            with open(record) as f:
                return ckpt, json.load(f)['seconds']

    def job_env(self, slot: int, data: Optional[str] = None) -> Dict[str, str]:
        """The tool environment of the ``slot``-th concurrent job, with
        ``data`` (default: the scenes root) as the demo root."""
        env = self.env if data is None else tool_env(data)
        if self.jobs == 1:
            return env
        env = dict(env)
        cores = str(max(1, (os.cpu_count() or 1) // self.jobs))
        env['OMP_NUM_THREADS'] = cores
        devices = _visible_gpus()
        if devices:
            env['CUDA_VISIBLE_DEVICES'] = devices[slot % len(devices)]
        return env

    # ---- a row
    def row_protocols(self, name: str) -> List[str]:
        """The protocols ``name`` runs: all of the bench's, or in a preset that
        names ``every_protocol_rows`` without ``name``, only ``labels-100``."""
        rows = self.preset.every_protocol_rows
        if rows is None or name in rows or 'labels-100' not in self.protocols:
            return list(self.protocols)
        return ['labels-100']

    def run_row(self, name: str, seed: int, proposal_seconds: Dict[str, float],
                log, slot: int = 0) -> dict:
        """Pretrain -> convert -> fine-tune and evaluate under each protocol,
        for one (method, seed); returns and saves its record."""
        method, p, track = METHODS[name], self.preset, TRACKS[self.track]
        row_dir = osp.join(self.work_dir, f'{name}_seed{seed}')
        logs = osp.join(row_dir, 'logs')
        record = dict(method=name, label=method.label, kind=method.kind, seed=seed,
                      preset=p.name, jobs=self.jobs, pretrain_s=0., convert_s=0.,
                      proposals_s=proposal_seconds.get(method.proposals, 0.),
                      protocols={}, track=self.track)
        env = self.job_env(slot)
        load_from = None
        if method.config is not None:
            target = None
            if method.target is not None:
                # shared by the seed's rows: the report counts it once a seed
                target, record['target_s'] = self.ensure_target(
                    method.target, seed, slot, log)
                record['target'] = method.target
            ckpt, record['pretrain_s'] = self._pretrain(method, seed, row_dir, slot,
                                                        log, target)
            if method.heatmap_warmup and seed == self.seeds[0]:
                self.heatmap_recall(ckpt, method, env, log)
            load_from = osp.join(row_dir, 'converted.pth')
            log(f'{name} seed {seed}: convert ({method.part})')
            record['convert_s'] = convert(ckpt, load_from, method.part,
                                          track.finetune_config, env,
                                          osp.join(logs, 'convert.log'))
            if not self.keep_checkpoints:
                _remove(ckpt)
        for key in self.row_protocols(name):
            protocol = PROTOCOLS[key]
            log(f'{name} seed {seed}: {protocol.label} '
                f'({labeled_count(p, protocol)} labelled images), {track.label} '
                f'{p.finetune_iters} iterations, then CocoMetric on val')
            _, seconds, metrics = finetune(
                track.finetune_config, osp.join(row_dir, key), env,
                load_from=load_from,
                iters=p.finetune_iters, seed=seed, gpus=self.gpus,
                options=finetune_options(p, method, protocol,
                                         self.label_file(protocol)),
                log_file=osp.join(logs, f'{key}.log'), validate=True,
                save_checkpoint=self.keep_checkpoints)
            record['protocols'][key] = dict(metrics=metrics, finetune_s=seconds)
        os.makedirs(osp.dirname(self.record_path(name, seed)), exist_ok=True)
        with open(self.record_path(name, seed), 'w') as f:
            json.dump(record, f, indent=1)
        return record

    def _pretrain(self, method: Method, seed: int, row_dir: str, slot: int,
                  log, target: Optional[str] = None) -> Tuple[str, float]:
        """The row's pretraining: self-supervised on the pool folder (with
        ``target`` as its frozen target checkpoint), or (the supervised row)
        Mask R-CNN on the pool's labels."""
        p, work = self.preset, osp.join(row_dir, 'pretrain')
        log_file = osp.join(row_dir, 'logs', 'pretrain.log')
        opts = pretrain_options(method, p)
        if method.reads_labels:
            log(f'{method.name} seed {seed}: Mask R-CNN on the pool labels, '
                f'{pretrain_iters(p)} iterations of {p.pretrain_batch} at '
                f'{p.view_size} px')
            ckpt, seconds, _ = finetune(
                method.config, work, self.job_env(slot), iters=pretrain_iters(p),
                seed=seed, gpus=self.gpus, options=opts, log_file=log_file)
            return ckpt, seconds
        if method.proposals:
            opts.append(f'proposal_cache={self.proposal_cache(method.proposals)}')
        if target is not None:
            opts.append(f'target_checkpoint={target}')
        log(f'{method.name} seed {seed}: pretrain {p.pretrain_epochs} epoch(s) '
            f'of the pool ({pretrain_iters(p)} iterations, no labels)')
        return pretrain(method.config, work, p.pretrain_epochs,
                        self.job_env(slot, self.pool_root), seed=seed,
                        gpus=self.gpus, options=opts, log_file=log_file)

    def heatmap_recall(self, checkpoint: str, method: Method, env: Dict[str, str],
                       log) -> None:
        """``benchmarks/heatmap_recall.py`` on val for the heat-map row's
        pretrained network (first seed) against its random init and random /
        grid boxes of equal count and scale (``heatmap_recall.json``)."""
        out = osp.join(self.work_dir, 'heatmap_recall.json')
        log(f'{method.name}: heat-map recall on val -> {out}')
        run_tool([sys.executable, 'benchmarks/heatmap_recall.py', '--config',
                  method.config, '--checkpoint', checkpoint, '--data', self.data,
                  '--split', 'val', '--seeds', str(self.preset.heatmap_recall_seeds),
                  '--out', out, '--cfg-options',
                  *[o for o in pretrain_options(method, self.preset)
                    if not o.startswith('train_dataloader.')]],
                 env, osp.join(self.work_dir, 'logs', 'heatmap_recall.log'))

    def run(self, log=print) -> List[dict]:
        """Run every missing (method, seed), then return all records of the
        bench's methods and seeds."""
        from tqdm import tqdm
        self.check_settings()
        self.ensure_data(log)
        self.prepare_splits()
        todo = self.plan()
        sources = dict.fromkeys(METHODS[m].proposals for m, _ in todo
                                if METHODS[m].proposals)
        proposal_seconds = {s: self.ensure_proposals(s, log) for s in sources}
        bar = tqdm(total=len(todo), desc='bench rows', unit='row', file=sys.stdout,
                   disable=not todo)

        def done(rec: dict) -> None:
            bar.write(f"[bench] {rec['method']} seed {rec['seed']}: APbb " + ', '.join(
                f"{k} {v['metrics'].get('coco/bbox_mAP', float('nan')):.3f}"
                for k, v in rec['protocols'].items()))
            bar.update()

        def row_log(msg: str) -> None:
            bar.write(f'[bench] {msg}')

        if self.jobs == 1:
            for name, seed in todo:
                bar.set_postfix_str(f'{name} seed {seed}')
                done(self.run_row(name, seed, proposal_seconds, row_log))
        else:
            self._run_concurrently(todo, proposal_seconds, row_log, done)
        bar.close()
        return self.records()

    def _run_concurrently(self, todo, proposal_seconds, log, done) -> None:
        """``jobs`` rows at a time, each in its own slot (cores, GPU); the
        first failure stops new rows and is raised once running ones end."""
        slots = queue.Queue()
        for slot in range(self.jobs):
            slots.put(slot)

        def one(name: str, seed: int) -> dict:
            slot = slots.get()
            try:
                return self.run_row(name, seed, proposal_seconds, log, slot)
            finally:
                slots.put(slot)

        with ThreadPoolExecutor(self.jobs) as pool:
            futures = [pool.submit(one, n, s) for n, s in todo]
            try:
                for future in as_completed(futures):
                    done(future.result())
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    def records(self) -> List[dict]:
        out = []
        for m in self.methods:
            for s in self.seeds:
                if osp.isfile(self.record_path(m, s)):
                    with open(self.record_path(m, s)) as f:
                        out.append(json.load(f))
        return out


# CocoMetric's keys the report reads
AP_KEYS = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75', 'coco/segm_mAP',
           'coco/segm_mAP_50', 'coco/segm_mAP_75')


def protocol_records(records: Sequence[dict], protocol: str) -> List[dict]:
    """One protocol's view of the records: each with that protocol's
    ``metrics`` and ``finetune_s`` (rows without it are left out).

    A fine-tuned detector with no detection above the test threshold leaves
    CocoMetric nothing to evaluate (mmdet logs "The testing results of the
    whole dataset is empty" and returns no metric): its AP is 0, which is
    what COCO's evaluation gives for objects that no detection finds, and the
    record is marked ``no_detections``.
    """
    out = []
    for r in records:
        if protocol in r.get('protocols', {}):
            flat = {k: v for k, v in r.items() if k != 'protocols'}
            flat.update(r['protocols'][protocol])
            if not flat['metrics']:
                flat['metrics'] = dict.fromkeys(AP_KEYS, 0.)
                flat['no_detections'] = True
            out.append(flat)
    return out


def _coco(root: str, split: str) -> dict:
    with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
        return json.load(f)


def _visible_gpus() -> List[str]:
    """Ids a job may be pinned to (``CUDA_VISIBLE_DEVICES`` entries); [] on a
    CPU machine."""
    import torch
    if not torch.cuda.is_available():
        return []
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    if visible:
        return [d.strip() for d in visible.split(',') if d.strip()]
    return [str(i) for i in range(torch.cuda.device_count())]


def _remove(path: str) -> None:
    if osp.isfile(path):
        os.remove(path)
