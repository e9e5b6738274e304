"""Training-step cost of each pretraining method against its bare backbone.

    python benchmarks/method_step.py [--data data/demo_scenes] [--batch 16]
        [--repeats 5] [--methods SoCo CCOP] [--cache-dir DIR]

One row per method of ``METHODS`` (name -> demo config and the proposal preset
its pipeline's cache is made with): a method is one more line there. Each row
builds its model, optimiser and one batch from its own config (its pipeline on
the demo scenes), then times, repeats interleaved so that a contended machine
slows both alike:

- ``step``: ``model.train_step`` (preprocess, EMA update, every branch, losses,
  backward, optimiser step);
- ``bare``: the online backbone+neck forward and backward of ONE batch of views
  at the method's first view size (the compute any detector-shaped method pays
  at least once per step).

``FLOPs / bare`` counts convolutions and matrix products of the same two calls
(``torch.utils.flop_counter``, forward and backward; mmcv's RoIAlign is not
counted): the floor a perfect implementation of the method would reach.
``(time / bare) / (FLOPs / bare)`` is what the implementation adds on top of
the compute the method asks for.

Data: ``--data`` must hold ``train/`` images; a missing root is generated
(``--images`` demo scenes, in a temporary folder). A proposal cache a config
names but that does not exist is precomputed with the row's preset into
``--cache-dir`` (default: a temporary folder).
"""
import argparse
import math
import os
import os.path as osp
import shutil
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import DictAction

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks.train_step import count_flops, timed_interleaved  # noqa: E402

# Row name -> (demo config, preset of its proposal cache or None).
METHODS: Dict[str, Tuple[str, Optional[str]]] = {
    'SoCo': ('configs/objcon/soco_r18_fpn_demo.py', 'soco'),
    'CCOP': ('configs/objcon/ccop_r18_fpn_demo.py', 'ccop'),
    'PLRC': ('configs/objcon/plrc_r18_demo.py', None),
    'DetCo': ('configs/objcon/detco_r18_demo.py', None),
    'DetCon': ('configs/objcon/detcon_r18_demo.py', 'detcon'),
}

COLUMNS = ('method', 'views', 's / step', 'images/s', 'bare s', 'time / bare',
           'GFLOP step', 'FLOPs / bare', '(time / bare) / (FLOPs / bare)')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default='data/demo_scenes',
                        help='demo scenes root (with train/); generated if absent')
    parser.add_argument('--images', type=int, default=32,
                        help='train images to generate when --data is absent')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--methods', nargs='+', default=list(METHODS),
                        choices=list(METHODS), metavar='NAME',
                        help=f'rows to measure (of {", ".join(METHODS)})')
    parser.add_argument('--cache-dir', default=None,
                        help='where missing proposal caches are precomputed '
                        '(default: a temporary folder)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        metavar='NAME=VALUE',
                        help='overrides for every row (named variables such as '
                        'view_size=96, or dotted keys)')
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.batch < 1 or args.images < 1:
        parser.error('--repeats, --batch and --images must be at least 1')
    return args


def _proposal_loaders(cfg) -> List[dict]:
    return [t for t in cfg.train_dataloader.dataset.pipeline
            if isinstance(t, dict) and str(t.get('type', '')).split('.')[-1] ==
            'LoadProposals' and t.get('cache')]


def _ensure_caches(name: str, cfg, preset: Optional[str], cache_dir: str) -> None:
    """Precompute each proposal cache the pipeline names but that is missing."""
    from objcon.proposals import PRESETS, precompute_proposals
    for load in _proposal_loaders(cfg):
        if osp.isdir(load['cache']):
            continue
        if preset is None:
            raise SystemExit(f'error: {name}: no proposal cache at '
                             f'{load["cache"]!r} and no preset to make one')
        out = osp.join(cache_dir, f'{name}_{preset}')
        if not osp.isdir(out):
            print(f'{name}: precomputing {preset!r} proposals of '
                  f'{load["img_root"]} into {out}', flush=True)
            precompute_proposals(PRESETS[preset], load['img_root'], out)
        load['cache'] = out


def measure(name: str, config: str, preset: Optional[str], args,
            cache_dir: str) -> dict:
    """Step and bare times and FLOPs of one method (see the module docstring)."""
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from objcon.registry import MODELS
    from objcon.utils import load_config
    cfg = load_config(osp.join(REPO, config), args.cfg_options)
    cfg.train_dataloader.update(batch_size=args.batch, num_workers=0,
                                persistent_workers=False)
    _ensure_caches(name, cfg, preset, cache_dir)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if cfg.optim_wrapper.get('type') == 'AmpOptimWrapper' and device == 'cpu':
        cfg.optim_wrapper.type = 'OptimWrapper'
        cfg.optim_wrapper.pop('loss_scale', None)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'objcon')):
        model = MODELS.build(cfg.model)
        model.init_weights()
        model = model.to(device).train()
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
        loader = Runner.build_dataloader(cfg.train_dataloader)
    # schedules (EMA momentum, curriculum) read the position from the hub
    hub = MessageHub.get_current_instance()
    hub.update_info('max_iters', 1000)
    hub.update_info('iter', 0)
    data = next(iter(loader))
    views = model.data_preprocessor(data, True)['inputs']
    view = views[0]
    online = model.online_modules()

    def step():
        model.train_step(data, optim)

    def bare():
        feats, _ = model.features(online, view)
        sum(f.float().mean() for f in feats).backward()
        model.zero_grad(set_to_none=True)

    # the FLOP count calls each once: the warm-up of the timing
    flops = dict(step=count_flops(step), bare=count_flops(bare))
    times = timed_interleaved(dict(step=step, bare=bare), args.repeats,
                              warmup=False)
    return dict(name=name, views=[tuple(v.shape[-2:]) for v in views],
                batch=len(view), times=times, flops=flops)


def table_rows(result: dict) -> List[str]:
    """The method's line and its bare line, as table cells."""
    t, b = result['times']['step'], result['times']['bare']
    f, fb = result['flops']['step'], result['flops']['bare']
    views = ', '.join(f'{h}x{w}' for h, w in result['views'])
    return [
        [f'{result["name"]} train_step', views, f'{t:.3f}',
         f'{result["batch"] / t:.1f}', f'{b:.3f}', f'{t / b:.2f}', f'{f / 1e9:.1f}',
         f'{f / fb:.2f}', f'{(t / b) / (f / fb):.2f}'],
        [f'{result["name"]} bare backbone+neck fwd/bwd',
         views.split(',')[0], f'{b:.3f}', f'{result["batch"] / b:.1f}',
         f'{b:.3f}', '1.00', f'{fb / 1e9:.1f}', '1.00', '1.00'],
    ]


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    generated = None
    if not osp.isdir(osp.join(args.data, 'train')):
        from objcon.datasets import generate_demo_scenes
        generated = tempfile.mkdtemp(prefix='objcon_method_step_data_')
        print(f'no {args.data}/train: generating {args.images} demo scenes in '
              f'{generated}', flush=True)
        generate_demo_scenes(generated, dict(train=args.images), seed=0)
        args.data = generated
    os.environ['OBJCON_DEMO_ROOT'] = osp.abspath(args.data)
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix='objcon_method_step_')
    from mmengine.logging import MMLogger

    from objcon.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    # the models' weight-init reports would bury the table
    MMLogger.get_instance('objcon_method_step', log_level='WARNING')
    results = []
    try:
        for name in args.methods:
            config, preset = METHODS[name]
            print(f'{name}: {config}', flush=True)
            started = time.perf_counter()
            results.append(measure(name, config, preset, args, cache_dir))
            print(f'{name}: measured in {time.perf_counter() - started:.0f} s',
                  flush=True)
    finally:
        if args.cache_dir is None:
            shutil.rmtree(cache_dir, ignore_errors=True)
        if generated:
            shutil.rmtree(generated, ignore_errors=True)
    device = 'cuda' if torch.cuda.is_available() else \
        f'cpu ({torch.get_num_threads()} threads)'
    print(f'\n{time.strftime("%Y-%m-%d")}, {args.data}, batch {args.batch}, '
          f'{device}, median of {args.repeats} interleaved repeats; bare = one '
          'batch of the first view\n')
    print('| ' + ' | '.join(COLUMNS) + ' |')
    print('|' + '---|' * len(COLUMNS))
    for result in results:
        for row in table_rows(result):
            print('| ' + ' | '.join(row) + ' |')
    bad = [r['name'] for r in results
           if not all(math.isfinite(v) and v > 0 for v in
                      list(r['times'].values()) + list(r['flops'].values()))]
    if bad:
        print(f'error: non-finite or zero measurements for {bad}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
