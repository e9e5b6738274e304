"""objcon-bench: object-level vs image-level pretraining vs none, on the demo scenes.

Every row of a bench pretrains a ResNet on the demo train images without labels
for the same budget (same images seen, same backbone, same view resolution),
converts the result for mmdet, fine-tunes mmdet's Mask R-CNN on the train split
with labels for the same iterations, and evaluates the final weights on the val
split with mmdet's CocoMetric (the fine-tuning run's own val loop). Each step is the user's own tool (see :mod:`.pipeline`); a preset
only chooses lengths, sizes and seeds, and changes the method configs through
``--cfg-options`` of their named variables (never another code path).

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
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .pipeline import convert, finetune, pretrain, run_tool, tool_env

FINETUNE_CONFIG = 'configs/benchmarks/mask-rcnn_r18_fpn_demo.py'


@dataclass(frozen=True)
class Method:
    """One row of the bench.

    Args:
        name (str): Row key (``--methods``).
        label (str): What the table and plot call it.
        config (str, optional): Pretraining config; None = no pretraining.
        part (str): What transfers (``convert_to_mmdet.py --part``).
        proposals (str, optional): The proposal preset whose cache the
            pretraining reads (``precompute_proposals.py --source``), computed
            once per bench and data root; None = no cache.
        views (dict): Named config variable of each view size -> its size
            relative to the preset's view size.
        heatmap_warmup (bool): Scale the heat-map warm-up with the schedule.
        kind (str): 'object', 'image' or 'none' (plot colour).
    """
    name: str
    label: str
    config: Optional[str]
    part: str = 'backbone'
    proposals: Optional[str] = None
    views: Dict[str, float] = field(default_factory=dict)
    heatmap_warmup: bool = False
    kind: str = 'image'


# SoCo's V1/V2 at the preset's view size, V3 at half of it.
_SOCO_VIEWS = dict(view_size=1, small_view_size=0.5)

METHODS = {m.name: m for m in [
    Method('scratch', 'scratch (no pretraining)', None, part='-', kind='none'),
    Method('byol', 'BYOL (mmpretrain)', 'configs/baselines/byol_r18_demo.py',
           views=dict(view_size=1)),
    Method('mocov2', 'MoCo v2 (mmpretrain)', 'configs/baselines/mocov2_r18_demo.py',
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
]}


@dataclass(frozen=True)
class Preset:
    """Sizes and lengths of a bench run.

    Args:
        name (str): ``smoke``, ``cpu`` or ``gpu``.
        train, val (int): Demo scenes generated (when the data root is absent).
        image_size (int): Scene side, and the fine-tuning / test resize.
        view_size (int): Pretraining view side (V3 of SoCo: half of it).
        pretrain_epochs (int): Epochs over the train images, every method.
        finetune_iters (int): Mask R-CNN iterations (batch 4), every row.
        seeds (tuple): Each seed runs the whole row (pretrain and fine-tune).
        data (str, optional): Default data root (None: inside the work dir).
        heatmap_warmup (float): Fraction of the pretraining iterations that
            use grid boxes before the heat map.
        pretrain_batch (int): Images per pretraining iteration, every method.
        finetune_extra (tuple): More fine-tuning / test ``--cfg-options``.
    """
    name: str
    train: int
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


PRESETS = {p.name: p for p in [
    # CI: every row end to end in minutes (small scenes and views: process start-up
    # and compute of 8 rows); the numbers mean nothing. A
    # 4-iteration detector scores every object below mmdet's 0.05 threshold,
    # which would leave CocoMetric nothing to evaluate.
    Preset('smoke', train=48, val=8, image_size=128, view_size=64,
           pretrain_epochs=1, finetune_iters=4, seeds=(0, ),
           finetune_extra=('model.test_cfg.rcnn.score_thr=0.0', )),
    # this machine (2 CPU cores): <= 60 minutes, every seed a whole row
    Preset('cpu', train=400, val=100, image_size=256, view_size=128,
           pretrain_epochs=2, finetune_iters=150, seeds=(0, 1),
           data='data/demo_scenes'),
    # one GPU: the same recipe, longer, at SoCo's 224 px views on 512 px scenes
    # (not yet run: no GPU was lent to the session that wrote it)
    Preset('gpu', train=4000, val=500, image_size=512, view_size=224,
           pretrain_epochs=20, finetune_iters=3000, seeds=(0, 1, 2),
           data='data/demo_scenes_512'),
]}


def pretrain_options(method: Method, preset: Preset) -> List[str]:
    """The ``--cfg-options`` that size ``method``'s pretraining for ``preset``."""
    v = preset.view_size
    opts = [f'{key}={round(v * rel)}' for key, rel in method.views.items()]
    opts.append(f'train_dataloader.batch_size={preset.pretrain_batch}')
    if method.heatmap_warmup:
        opts.append(f'model.proposal_generator.warmup_iters='
                    f'{round(preset.heatmap_warmup * pretrain_iters(preset))}')
    return opts


def pretrain_iters(preset: Preset) -> int:
    """Iterations of a pretraining run (the configs drop the last partial batch)."""
    return preset.pretrain_epochs * (preset.train // preset.pretrain_batch)


def finetune_options(preset: Preset) -> List[str]:
    """Fine-tuning / test resize of the demo Mask R-CNN config."""
    s = preset.image_size
    return [f'image_size=({s},{s})', *preset.finetune_extra]


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
            gets one GPU (``CUDA_VISIBLE_DEVICES``), so ``jobs`` may not exceed
            the GPUs and needs ``gpus == 1``. Rows that share the machine take
            longer: their times compare only with rows of a run with the same
            ``jobs``, which records keep.
    """
    preset: Preset
    work_dir: str
    data: str
    methods: Sequence[str]
    seeds: Sequence[int]
    gpus: int = 1
    keep_checkpoints: bool = False
    jobs: int = 1

    def __post_init__(self):
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f'unknown method(s) {unknown}; known: {list(METHODS)}')
        if self.jobs < 1:
            raise ValueError(f'jobs must be >= 1, got {self.jobs}')
        if self.jobs > 1 and self.gpus > 1:
            raise ValueError('jobs > 1 runs one row per GPU: it needs gpus == 1')
        devices = _visible_gpus()
        if self.jobs > 1 and devices and self.jobs > len(devices):
            raise ValueError(f'jobs {self.jobs} > the {len(devices)} visible GPUs')
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
            dict(asdict(self.preset), seeds=None, data=self.data)))
        path = osp.join(self.work_dir, 'settings.json')
        if osp.isfile(path):
            with open(path) as f:
                old = json.load(f)
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

    def plan(self) -> List[Tuple[str, int]]:
        """(method, seed) pairs still to run, seed-major (a partial run has
        every method of its first seeds)."""
        return [(m, s) for s in self.seeds for m in self.methods
                if not osp.isfile(self.record_path(m, s))]

    # ---- steps
    def ensure_data(self, log) -> float:
        from objcon.datasets.demo_scenes import demo_scenes_exist
        if demo_scenes_exist(self.data):
            return 0.
        p = self.preset
        log(f'generating {p.train} + {p.val} demo scenes at {p.image_size} px '
            f'in {self.data}')
        return run_tool([sys.executable, 'tools/make_demo_data.py', '--out',
                         self.data, '--train', str(p.train), '--val', str(p.val),
                         '--size', str(p.image_size), '--quiet'], self.env,
                        osp.join(self.work_dir, 'logs', 'make_demo_data.log'))

    def ensure_proposals(self, source: str, log) -> float:
        """The ``source`` proposals of the train images, once per bench
        (seconds; recorded, so a resumed bench reports the first run's time)."""
        record = osp.join(self.work_dir, 'proposals', f'time_{source}.json')
        if osp.isfile(record):
            with open(record) as f:
                return json.load(f)['seconds']
        cache = self.proposal_cache(source)
        log(f'{source} proposals of the train images -> {cache}')
        seconds = run_tool(
            [sys.executable, 'tools/precompute_proposals.py',
             osp.join(self.data, 'train'), cache, '--source', source,
             '--workers', str(os.cpu_count() or 1)], self.env,
            osp.join(self.work_dir, 'logs', f'precompute_proposals_{source}.log'))
        with open(record, 'w') as f:
            json.dump({'seconds': seconds}, f)
        return seconds

    def job_env(self, slot: int) -> Dict[str, str]:
        """The tool environment of the ``slot``-th concurrent job."""
        if self.jobs == 1:
            return self.env
        env = dict(self.env)
        devices = _visible_gpus()
        if devices:
            env['CUDA_VISIBLE_DEVICES'] = devices[slot]
        else:
            env['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // self.jobs))
        return env

    def run_row(self, name: str, seed: int, proposal_seconds: Dict[str, float],
                log, env: Optional[Dict[str, str]] = None) -> dict:
        """Pretrain -> convert -> fine-tune -> evaluate one (method, seed);
        returns and saves its record.

        Args:
            env (dict, optional): The tools' environment; None: the bench's.
        """
        env = self.env if env is None else env
        method, p = METHODS[name], self.preset
        row_dir = osp.join(self.work_dir, f'{name}_seed{seed}')
        logs = osp.join(row_dir, 'logs')
        record = dict(method=name, label=method.label, kind=method.kind, seed=seed,
                      preset=p.name, jobs=self.jobs, pretrain_s=0., convert_s=0.,
                      proposals_s=proposal_seconds.get(method.proposals, 0.))
        load_from = None
        if method.config is not None:
            opts = pretrain_options(method, p)
            if method.proposals:
                opts += [f'proposal_cache={self.proposal_cache(method.proposals)}']
            log(f'{name} seed {seed}: pretrain {p.pretrain_epochs} epochs '
                f'({pretrain_iters(p)} iterations, no labels)')
            ckpt, record['pretrain_s'] = pretrain(
                method.config, osp.join(row_dir, 'pretrain'), p.pretrain_epochs,
                env, seed=seed, gpus=self.gpus, options=opts,
                log_file=osp.join(logs, 'pretrain.log'))
            load_from = osp.join(row_dir, 'converted.pth')
            log(f'{name} seed {seed}: convert ({method.part})')
            record['convert_s'] = convert(ckpt, load_from, method.part,
                                          FINETUNE_CONFIG, env,
                                          osp.join(logs, 'convert.log'))
            if not self.keep_checkpoints:
                _remove(ckpt)
        log(f'{name} seed {seed}: fine-tune Mask R-CNN {p.finetune_iters} '
            'iterations, then evaluate on val (CocoMetric)')
        ft_ckpt, record['finetune_s'], metrics = finetune(
            FINETUNE_CONFIG, osp.join(row_dir, 'finetune'), env,
            load_from=load_from, iters=p.finetune_iters, seed=seed, gpus=self.gpus,
            options=finetune_options(p), log_file=osp.join(logs, 'finetune.log'),
            validate=True)
        record['metrics'] = metrics
        if not self.keep_checkpoints:
            _remove(ft_ckpt)
        os.makedirs(osp.dirname(self.record_path(name, seed)), exist_ok=True)
        with open(self.record_path(name, seed), 'w') as f:
            json.dump(record, f, indent=1)
        return record

    def run(self, log=print) -> List[dict]:
        """Run every missing (method, seed), then return all records of the
        bench's methods and seeds."""
        from tqdm import tqdm
        self.check_settings()
        self.ensure_data(log)
        todo = self.plan()
        sources = dict.fromkeys(METHODS[m].proposals for m, _ in todo
                                if METHODS[m].proposals)
        proposal_seconds = {s: self.ensure_proposals(s, log) for s in sources}
        bar = tqdm(total=len(todo), desc='bench rows', unit='row', file=sys.stdout,
                   disable=not todo)

        def done(rec: dict) -> None:
            m = rec['metrics']
            bar.write(f"[bench] {rec['method']} seed {rec['seed']}: APbb "
                      f"{m.get('coco/bbox_mAP', float('nan')):.3f}, APmk "
                      f"{m.get('coco/segm_mAP', float('nan')):.3f}")
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
        """``jobs`` rows at a time, each in its own slot (cores or GPU); the
        first failure stops new rows and is raised once running ones end."""
        slots = queue.Queue()
        for slot in range(self.jobs):
            slots.put(slot)

        def one(name: str, seed: int) -> dict:
            slot = slots.get()
            try:
                return self.run_row(name, seed, proposal_seconds, log,
                                    self.job_env(slot))
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
