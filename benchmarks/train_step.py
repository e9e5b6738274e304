"""SoCo training-step cost against the backbone compute it cannot avoid.

    python benchmarks/train_step.py [--config configs/objcon/soco_r18_fpn_demo.py]
        [--data data/demo_scenes] [--batch 16] [--repeats 5] [--amp]

Measured side by side in one run on the same batch of views, repeats interleaved
(a contended CPU slows all variants alike):

- ``step``: ``model.train_step`` (preprocess, EMA update, online + target
  backbone/FPN, boxes through trunk/projector/predictor, loss, backward,
  optimizer step) for three variants of the same model:
  ``per-call`` (reference semantics, one trunk/projector/predictor call per
  (view, pair, level): what objcon did before the batched path),
  ``reference`` (the default: same semantics, one call per branch with per-chunk
  BN statistics) and ``assigned`` (``pool_levels='assigned'``, the opt-in fast
  mode: each box only on its own level);
- ``bare``: the online backbone+FPN forward/backward of the same views;
- ``bare + target``: that plus the target network's backbone+FPN forward, which any
  BYOL-style method also pays.

The ratios are the overhead of everything object-level. Beside each time ratio,
the FLOP ratio of the same two computations (convolutions and matrix products as
counted by ``torch.utils.flop_counter``, forward and backward; mmcv's RoIAlign is
not counted) is the floor a perfect implementation of that variant would reach, and
``time ratio / FLOP ratio`` is what the implementation adds on top of the compute
the method itself asks for. A per-part breakdown of
each variant's step (forward hooks and wrapped calls; ``backward`` is the whole
backward pass) follows. Also the data pipeline's images/s (decode, cached
proposals, three views, colour augmentation).

Heat-map proposals (``--heatmap-config``, docs/heatmap.md), side by side in the
same run: the same model and the same batch, once with the pipeline's cached
selective-search boxes and once with the heat-map source of the heat-map config
switched on (past its warm-up: heat map of the target C5 of V1, sampling, mapping
into the views), and their ratio. Then the end-to-end cost on the demo scenes:
SoCo's selective-search precompute, measured on the first ``--precompute-images``
train images in a temporary directory and extrapolated linearly to the whole
split, plus training time = iterations of the demo schedule x the measured step
time (data loading assumed hidden by the workers); the heat-map recipe has no
precompute.
"""
import argparse
import collections
import functools
import os
import os.path as osp
import statistics
import sys
import time

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default='configs/objcon/soco_r18_fpn_demo.py')
    parser.add_argument('--data', default='data/demo_scenes',
                        help='demo scenes root (with proposals/train_soco)')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--data-batches', type=int, default=10)
    parser.add_argument('--amp', action='store_true', help='bf16/fp16 autocast (GPU)')
    parser.add_argument('--heatmap-config',
                        default='configs/objcon/soco-heatmap_r18_fpn_demo.py',
                        help='config whose model.proposal_generator is compared with '
                        'cached proposals ("" to skip)')
    parser.add_argument('--heatmap-only', action='store_true',
                        help='skip the bare backbone measurements')
    parser.add_argument('--precompute-images', type=int, default=20,
                        help='train images the selective-search precompute is '
                        'timed on (0 to skip)')
    return parser.parse_args()


VARIANTS = {  # name: (pool_levels, batched_embed)
    'per-call': ('all', False),
    'reference': ('all', True),
    'assigned': ('assigned', True),
}


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, repeats):
    if repeats == 0:  # one call, no warm-up
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter() - t
    fn()  # warm-up
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def count_flops(fn):
    """Convolution and matrix-product FLOPs of one call of ``fn`` (forward and
    backward, as counted by ``torch.utils.flop_counter``; custom ops such as
    mmcv's RoIAlign are not counted)."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def timed_interleaved(fns, repeats, warmup=True):
    """Median seconds of each of ``fns`` (dict), repeats interleaved; without
    ``warmup`` the caller has already called each once."""
    for fn in fns.values() if warmup else ():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            _sync()
            t = time.perf_counter()
            fn()
            _sync()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


class PartTimer:
    """Accumulates wall time of module forwards and wrapped calls by part."""

    def __init__(self):
        self.totals = collections.defaultdict(float)
        self._start = {}

    def module(self, module, part):
        def pre(mod, args):
            _sync()
            self._start[id(mod)] = time.perf_counter()

        def post(mod, args, out):
            _sync()
            self.totals[part] += time.perf_counter() - self._start.pop(id(mod))

        module.register_forward_pre_hook(pre)
        module.register_forward_hook(post)

    def call(self, obj, attr, part):
        fn = getattr(obj, attr)

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            _sync()
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                _sync()
                self.totals[part] += time.perf_counter() - t

        setattr(obj, attr, wrapped)


def main():
    args = parse_args()
    os.environ['OBJCON_DEMO_ROOT'] = osp.abspath(args.data)
    from mmengine.config import Config
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner
    from objcon.utils import load_config, register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = load_config(osp.join(REPO, args.config))
    cfg.work_dir = '/tmp/objcon_bench_train_step'
    cfg.train_dataloader.batch_size = args.batch
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
    elif cfg.optim_wrapper.get('type') == 'AmpOptimWrapper' and device == 'cpu':
        cfg.optim_wrapper.type = 'OptimWrapper'
        cfg.optim_wrapper.pop('loss_scale', None)
    runner = Runner.from_cfg(cfg)
    MessageHub.get_current_instance().update_info('max_iters', 1000)
    model = runner.model.to(device).train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)

    loader = runner.build_dataloader(cfg.train_dataloader)
    it = iter(loader)
    t = time.perf_counter()
    batches = [next(it) for _ in range(args.data_batches)]
    data_s = time.perf_counter() - t
    images_per_s = args.data_batches * args.batch / data_s
    data = batches[0]
    views = model.data_preprocessor(data, True)['inputs']

    online = model.online_modules()
    target = model.target
    timer = PartTimer()
    timer.call(model.target_net, 'update_parameters', 'EMA update')
    for name in ('backbone', 'neck'):
        if name in online:
            timer.module(online[name], 'backbone+FPN fwd, online')
            timer.module(target[name], 'backbone+FPN fwd, target')
    for branch in (online, target):
        embedder = branch['embedder']
        timer.module(embedder.roi_align, 'RoIAlign fwd')
        timer.module(embedder.trunk, 'trunk fwd (online+target)')
        timer.module(embedder.projector, 'projector fwd (online+target)')
    timer.module(model.head.predictor, 'predictor fwd')
    timer.module(model.head.loss_module, 'loss fwd')
    timer.call(optim, 'backward', 'backward (whole graph)')
    timer.call(optim, 'step', 'optimizer step (SoCoLARS)')

    def set_variant(pool_levels, batched):
        model.pool_levels = pool_levels
        for m in (model.embedder, model.target['embedder'], model.head):
            m.batched = batched

    def step(pool_levels, batched):
        set_variant(pool_levels, batched)
        model.train_step(data, optim)

    def bare():
        loss = 0
        for v in views:
            loss = loss + sum(f.float().mean() for f in model.features(online, v)[0])
        loss.backward()
        model.zero_grad(set_to_none=True)

    def bare_target():
        bare()
        with torch.no_grad():
            for v in views:
                model.features(target, v)

    if args.heatmap_only:
        heatmap_vs_cached(args, cfg, model, data, optim, loader)
        return
    fns = {name: functools.partial(step, *cfg_) for name, cfg_ in VARIANTS.items()}
    fns['bare'] = bare
    fns['bare + target'] = bare_target
    # parts: one extra step per variant, after the warm-up
    parts = {}
    for name in VARIANTS:
        fns[name]()
        timer.totals.clear()
        t = time.perf_counter()
        fns[name]()
        parts[name] = dict(timer.totals, total=time.perf_counter() - t)
    times = timed_interleaved(fns, args.repeats)
    flops = {name: count_flops(fn) for name, fn in fns.items()}

    threads = torch.get_num_threads()
    print(f'\n{args.config}, batch {args.batch}, views '
          f'{[tuple(v.shape[-2:]) for v in views]}, {device}'
          f'{" (" + str(threads) + " threads)" if device == "cpu" else ""}'
          f'{", AMP" if args.amp else ""}, median of {args.repeats} '
          'interleaved repeats\n')
    t_bare, t_bt = times['bare'], times['bare + target']
    f_bare = flops['bare']
    print('| measurement | s / iteration | / bare | GFLOP | FLOPs / bare '
          '| (time / bare) / (FLOPs / bare) | / (bare + target) | images/s |')
    print('|---|---|---|---|---|---|---|---|')
    for name in list(VARIANTS) + ['bare + target']:
        t, f = times[name], flops[name]
        label = f'SoCo train_step, {name}' if name in VARIANTS else \
            'bare + target backbone+FPN forward'
        print(f'| {label} | {t:.3f} | {t / t_bare:.2f} | {f / 1e9:.0f} | '
              f'{f / f_bare:.2f} | {(t / t_bare) / (f / f_bare):.2f} | '
              f'{t / t_bt:.2f} | {args.batch / t:.1f} |')
    print(f'| bare backbone+FPN fwd/bwd (online) | {t_bare:.3f} | 1.00 | '
          f'{f_bare / 1e9:.0f} | 1.00 | 1.00 | | |')

    print('\nparts of one step (s):\n')
    print('| part | ' + ' | '.join(VARIANTS) + ' |')
    print('|---|' + '---|' * len(VARIANTS))
    names = list(dict.fromkeys(k for p in parts.values() for k in p
                               if k != 'total'))
    for part in names + ['other (preprocess, RoI/mask setup, ...)', 'total']:
        row = []
        for name in VARIANTS:
            p = parts[name]
            if part == 'total':
                value = p['total']
            elif part.startswith('other'):
                value = p['total'] - sum(v for k, v in p.items() if k != 'total')
            else:
                value = p.get(part, 0.)
            row.append(f'{value:.3f}')
        print(f'| {part} | ' + ' | '.join(row) + ' |')
    print(f'\ndata pipeline: {images_per_s:.1f} images/s '
          f'({cfg.train_dataloader.num_workers} workers)')
    if args.heatmap_config:
        set_variant('all', True)  # the default
        heatmap_vs_cached(args, cfg, model, data, optim, loader)


def heatmap_vs_cached(args, cfg, model, data, optim, loader):
    """Step with cached vs heat-map proposals, then precompute + training totals."""
    import glob
    import shutil
    import tempfile

    from objcon.proposals import PRESETS, precompute_proposals
    from objcon.registry import PROPOSAL_GENERATORS
    from objcon.structures import PairSlotSampler
    from objcon.utils import load_config

    hm_cfg = load_config(osp.join(REPO, args.heatmap_config))
    generator = PROPOSAL_GENERATORS.build(
        dict(hm_cfg.model.proposal_generator, warmup_iters=0))
    slots = dict(num_boxes=4)
    slots.update(hm_cfg.model.get('pair_slots') or {})
    jitter = slots.pop('jitter', None)
    sampler = PairSlotSampler(**slots)

    def cached():
        model.proposal_generator = None
        model.train_step(data, optim)

    def heatmap():
        model.proposal_generator = generator
        model.slot_sampler, model.slot_jitter = sampler, jitter
        model.train_step(data, optim)

    # Interleaved, so that load changes on a shared machine hit both alike.
    cached(), heatmap()  # warm-up
    t_cached, t_heat = [], []
    for _ in range(args.repeats):
        t_cached.append(timed(cached, 0))
        t_heat.append(timed(heatmap, 0))
    # The heat-map work alone (heat map, sampling, mapping into the views), on the
    # same batch: robust to load noise, which the step difference is not.
    batch = model.data_preprocessor(data, True)
    views, samples = batch['inputs'], batch['data_samples']
    pairs = model.view_pairs(samples)
    view = views[model.proposal_view]
    with torch.no_grad():
        _, c5 = model.features(model.target, view)
    model.proposal_generator = generator

    def boxes_alone():
        boxes = model.propose(c5, [tuple(view.shape[-2:])] * len(view))
        model.view_pairs_from_proposals(boxes, samples, pairs)

    t_src = timed(boxes_alone, args.repeats)
    model.proposal_generator = None
    tc, th = statistics.median(t_cached), statistics.median(t_heat)
    print(f'\n| proposals | s / iteration | ratio |')
    print('|---|---|---|')
    print(f'| cached (selective search, pipeline) | {tc:.3f} | 1.00 |')
    print(f'| heat map (in model, {args.heatmap_config}) | {th:.3f} | '
          f'{th / tc:.3f} |')
    print(f'| heat-map boxes alone (source + mapping) | {t_src:.4f} | '
          f'{t_src / tc:.4f} |')

    if args.precompute_images <= 0:
        return
    train_dir = osp.join(os.environ['OBJCON_DEMO_ROOT'], 'train')
    images = sorted(glob.glob(osp.join(train_dir, '*.jpg')))
    subset = images[:args.precompute_images]
    tmp = tempfile.mkdtemp(prefix='objcon_bench_ss_')
    try:
        img_dir = osp.join(tmp, 'img')
        os.makedirs(img_dir)
        for path in subset:
            shutil.copy(path, img_dir)
        t = time.perf_counter()
        precompute_proposals(PRESETS['soco'], img_dir, osp.join(tmp, 'cache'),
                             show_progress=False)
        per_image = (time.perf_counter() - t) / len(subset)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    iters = len(loader) * cfg.train_cfg.max_epochs
    pre = per_image * len(images)
    print(f'\nEnd to end on {train_dir} ({len(images)} images, {iters} iterations '
          f'of batch {args.batch}; precompute timed on {len(subset)} images in one '
          f'process and extrapolated; training = iterations x median step):')
    print('| recipe | precompute s | training s | total s |')
    print('|---|---|---|---|')
    print(f'| SoCo, cached selective search | {pre:.0f} | {iters * tc:.0f} | '
          f'{pre + iters * tc:.0f} |')
    print(f'| SoCo, heat map | 0 | {iters * th:.0f} | {iters * th:.0f} |')


if __name__ == '__main__':
    main()
