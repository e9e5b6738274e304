"""Does a short run of each demo config learn? The settings the tests' falling-loss
runs use, against the demo's full view recipe and against no learning at all.

    python benchmarks/short_runs.py [--epochs 30] [--methods CCOP DetCon]
        [--jobs 2] [--work-dir DIR]

Data: 12 generated demo scenes of 128 px (the tests' tiny scenes), batch 4, so
3 iterations an epoch; proposal caches are precomputed with each row's preset.
Each method runs ``tools/train.py`` on its demo config three times, seeded alike:

- ``full views``: the short-run settings below with the demo's views as they
  are (colour jitter, grey, blur, solarize);
- ``short run``: the short-run settings (``photometric=False``), what the tests
  run;
- ``short run, lr 0``: the same with the learning rate at 0: the same views and
  batches through a network that never changes (the control).

Short-run settings (:data:`SHORT_RUNS`): small views, and for the queue methods a
queue of two batches and an EMA of 0.99. The demo scenes differ mostly in colour;
with the photometric transforms a queue's image term sits at chance for hundreds
of iterations (docs/pretraining.md, "Short runs that learn").

Printed per run: the highest epoch mean of the summed loss, the mean of the last
3 epochs, their ratio as a fall, and the mean of the last 10 epochs (compare the
short run with its lr-0 control: the loss of DetCon's tiny batches swings with
the number of masks in them).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Batch 4 of the 12 tiny scenes, in the main process, every iteration logged.
TINY_LOADER = ['train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
               'train_dataloader.persistent_workers=False',
               'default_hooks.logger.interval=1']
ITERATIONS_AN_EPOCH = 3  # 12 images / 4
# The demo scenes differ mostly in colour: without the photometric transforms a
# short run can tell them apart.
LEARNS = ['photometric=False']
# A queue of two batches and an EMA of 0.99: a key horizon of 100 iterations,
# about the run's length (0.999: 1000).
QUEUE_LEARNS = [*LEARNS, 'queue_size=8', 'model.base_momentum=0.99',
                'model.end_momentum=0.99']


class ShortRun(NamedTuple):
    """A demo config's short run that learns.

    Attributes:
        config (str): The demo config, relative to the repository root.
        proposals (str | None): The proposal preset of the cache it reads.
        options (list[str]): ``--cfg-options`` beyond the loader's.
        warmup (bool): Whether the config's schedule is a warmup then a cosine
            (``param_scheduler.1``) rather than a cosine alone.
    """
    config: str
    proposals: Optional[str]
    options: List[str]
    warmup: bool


SHORT_RUNS: Dict[str, ShortRun] = {
    # lr 0.3 x 4 / 256 through auto_scale_lr
    'CCOP': ShortRun('configs/objcon/ccop_r18_fpn_demo.py', 'ccop',
                     ['view_size=96', *QUEUE_LEARNS], warmup=True),
    'PLRC': ShortRun('configs/objcon/plrc_r18_demo.py', None,
                     ['view_size=64', *QUEUE_LEARNS,
                      'optim_wrapper.optimizer.lr=0.01'], warmup=False),
    # the demo's 0.03 x 4 / 256 barely moves in 90 iterations
    'DetCo': ShortRun('configs/objcon/detco_r18_demo.py', None,
                      ['view_size=64', 'patch_size=18', *QUEUE_LEARNS,
                       'auto_scale_lr.enable=False',
                       'optim_wrapper.optimizer.lr=0.01'], warmup=False),
    # no queue; the demo's lr 0.2
    'DetCon': ShortRun('configs/objcon/detcon_r18_demo.py', 'detcon',
                       ['view_size=64', 'num_masks=4', *LEARNS], warmup=True),
}


def schedule_options(epochs: int, warmup: bool) -> List[str]:
    """``--cfg-options`` of a demo schedule shortened to ``epochs``."""
    if warmup:  # one warmup epoch, then the cosine
        return [f'train_cfg.max_epochs={epochs}',
                f'param_scheduler.1.T_max={max(epochs - 1, 1)}',
                f'param_scheduler.1.end={epochs}']
    return [f'train_cfg.max_epochs={epochs}', f'param_scheduler.0.T_max={epochs}',
            f'param_scheduler.0.end={epochs}']


def short_run_options(method: str, epochs: int, photometric: bool = False,
                      lr: Optional[float] = None) -> List[str]:
    """The ``--cfg-options`` of ``method``'s short run on the tiny scenes.

    Args:
        method (str): A key of :data:`SHORT_RUNS`.
        epochs (int): Epochs of 3 iterations.
        photometric (bool): Keep the views' photometric transforms (the demo's
            full recipe). Defaults to False.
        lr (float, optional): Replace the learning rate (0: the control).

    Returns:
        list[str]: Loader, short-run, schedule and checkpoint options.
    """
    run = SHORT_RUNS[method]
    options = [o for o in run.options if not (photometric and o in LEARNS)]
    if lr is not None:
        replaced = ('optim_wrapper.optimizer.lr=', 'auto_scale_lr.enable=')
        options = [o for o in options if not o.startswith(replaced)]
        options += ['auto_scale_lr.enable=False', f'optim_wrapper.optimizer.lr={lr}']
    return [*TINY_LOADER, *options, *schedule_options(epochs, run.warmup),
            f'default_hooks.checkpoint.interval={epochs}']


def epoch_means(losses: Sequence[float], per_epoch: int) -> List[float]:
    """The mean of each epoch's losses, rounded to 1e-3."""
    return [round(sum(losses[i:i + per_epoch]) / per_epoch, 3)
            for i in range(0, len(losses) - per_epoch + 1, per_epoch)]


def fall_from_peak(means: Sequence[float], last: int = 3) -> float:
    """1 - (mean of the last ``last`` epoch means) / (the highest epoch mean).

    A queue method's loss first climbs: the queue starts as random unit vectors
    (easy negatives) and the random network's features grow alike before they
    grow apart. A short run's learning shows as a fall from that peak.
    """
    return 1 - sum(means[-last:]) / last / max(means)


def logged_losses(work: str) -> List[float]:
    """The summed loss of every logged iteration of a finished run."""
    rows = {}
    for root, _, files in os.walk(work):
        if 'scalars.json' in files and root.endswith('vis_data'):
            with open(osp.join(root, 'scalars.json')) as f:
                for line in f:
                    row = json.loads(line)
                    if 'loss' in row:
                        rows[row['step']] = row['loss']
    return [rows[i] for i in sorted(rows)]


def make_scenes(root: str, presets: Sequence[str]) -> None:
    """12 tiny demo scenes and the named proposal caches, under ``root``."""
    sys.path.insert(0, REPO)
    from objcon.datasets import generate_demo_scenes
    from objcon.proposals import PRESETS, precompute_proposals
    generate_demo_scenes(root, dict(train=12, val=2), seed=0, image_size=(128, 128),
                         show_progress=False)
    for preset in presets:
        precompute_proposals(PRESETS[preset], osp.join(root, 'train'),
                             osp.join(root, 'proposals', f'train_{preset}'),
                             show_progress=False)


VARIANTS = (('full views', True, None), ('short run', False, None),
            ('short run, lr 0', False, 0.0))


def run_one(method: str, variant: Tuple[str, bool, Optional[float]], epochs: int,
            scenes: str, work_dir: str) -> dict:
    """Train one variant; its row of the table."""
    label, photometric, lr = variant
    work = osp.join(work_dir, f"{method}_{label.replace(' ', '_').replace(',', '')}")
    env = dict(os.environ, OBJCON_DEMO_ROOT=scenes, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(
                   p for p in (REPO, os.environ.get('PYTHONPATH')) if p))
    cmd = [sys.executable, 'tools/train.py', SHORT_RUNS[method].config,
           '--work-dir', work, '--cfg-options',
           *short_run_options(method, epochs, photometric, lr)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f'{method} ({label}) failed:\n'
                           + (proc.stdout + proc.stderr)[-3000:])
    means = epoch_means(logged_losses(work), ITERATIONS_AN_EPOCH)
    return dict(method=method, variant=label, peak=max(means),
                last3=sum(means[-3:]) / 3, fall=fall_from_peak(means),
                last10=sum(means[-10:]) / min(10, len(means)), seconds=seconds,
                means=means)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--epochs', type=int, default=30,
                        help='epochs of 3 iterations (default: 30)')
    parser.add_argument('--methods', nargs='+', default=list(SHORT_RUNS),
                        choices=list(SHORT_RUNS))
    parser.add_argument('--jobs', type=int, default=2,
                        help='runs at a time, one thread each (default: 2)')
    parser.add_argument('--work-dir', default=None,
                        help='where the runs go (default: a temporary folder)')
    args = parser.parse_args(argv)
    if args.epochs < 3:
        parser.error('--epochs must be at least 3 (the fall compares 3 epochs)')

    with tempfile.TemporaryDirectory() as tmp:
        work_dir = args.work_dir or tmp
        scenes = osp.join(work_dir, 'scenes')
        presets = sorted({SHORT_RUNS[m].proposals for m in args.methods} - {None})
        make_scenes(scenes, presets)
        jobs = [(m, v) for m in args.methods for v in VARIANTS]
        print(f'{len(jobs)} runs of {args.epochs * ITERATIONS_AN_EPOCH} iterations, '
              f'{args.jobs} at a time', flush=True)
        done = 0

        def one(job):
            nonlocal done
            row = run_one(*job, args.epochs, scenes, work_dir)
            done += 1
            print(f'[{done}/{len(jobs)}] {row["method"]}, {row["variant"]}: '
                  f'{row["seconds"]:.0f} s', flush=True)
            return row

        with ThreadPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(one, jobs))

    print()
    print('| method | run | peak epoch | last 3 epochs | fall from peak | '
          'last 10 epochs | s |')
    print('|---|---|---|---|---|---|---|')
    for r in rows:
        print(f"| {r['method']} | {r['variant']} | {r['peak']:.3f} | "
              f"{r['last3']:.3f} | {100 * r['fall']:.0f} % | {r['last10']:.3f} | "
              f"{r['seconds']:.0f} |")
    print()
    for r in rows:
        print(f"{r['method']}, {r['variant']}: epoch means "
              + ' '.join(f'{m:.2f}' for m in r['means']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
