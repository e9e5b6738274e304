"""objcon-bench: does object-level pretraining beat image-level pretraining (and
none) for a detector, and at what cost? One command, on the embedded demo scenes.

    python tools/bench.py --preset smoke     # every row end to end, minutes (CI)
    python tools/bench.py --preset cpu       # 2 CPU cores, <= 60 minutes
    python tools/bench.py --preset gpu       # one GPU, longer, 512 px scenes

Rows (--methods): scratch, mmpretrain's BYOL and MoCo v2, and objcon's methods
(docs/bench.md lists them). Each pretrains ResNet-18 on the train images without
labels for the same budget, is converted for mmdet, fine-tunes mmdet's Mask R-CNN
for the same iterations and is evaluated on val with CocoMetric (in the
fine-tuning run, after its last iteration); every seed runs
the whole row. Output in --out: bench.md (table: mean ± std over seeds), bench.csv
(one line per row and seed) and bench.png (AP by method, AP against pretraining
time). A rerun skips the rows already done (records in the work dir).
"""
import argparse
import os
import os.path as osp
import platform
import sys
import time
from dataclasses import replace

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from objcon.benchmark.bench import (METHODS, PRESETS, Bench,  # noqa: E402
                                    pretrain_iters)
from objcon.benchmark.report import write_report  # noqa: E402
from objcon.benchmark.pipeline import StepFailed  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='presets:\n' + '\n'.join(
            f'  {p.name:6s} {p.train} train / {p.val} val scenes at {p.image_size} '
            f'px, views {p.view_size} px, pretrain {p.pretrain_epochs} epochs, '
            f'fine-tune {p.finetune_iters} iterations, seeds {list(p.seeds)}'
            for p in PRESETS.values()))
    parser.add_argument('--preset', choices=list(PRESETS), default='cpu')
    parser.add_argument('--work-dir', help='default work_dirs/bench/<preset>')
    parser.add_argument('--data', help="demo scenes root (generated if absent); "
                        "default: the preset's, or <work-dir>/scenes")
    parser.add_argument('--out', help='report folder (default: the work dir)')
    parser.add_argument('--methods', nargs='+', default=list(METHODS),
                        choices=list(METHODS), help='rows (default: all)')
    parser.add_argument('--seeds', nargs='+', type=int,
                        help="default: the preset's")
    parser.add_argument('--pretrain-epochs', type=int,
                        help="override the preset's pretraining epochs")
    parser.add_argument('--finetune-iters', type=int,
                        help="override the preset's fine-tuning iterations")
    parser.add_argument('--gpus', type=int, default=1,
                        help='> 1: train and test with tools/dist_*.sh')
    parser.add_argument('--jobs', type=int, default=1,
                        help='rows run at once: each gets an equal share of the '
                        'CPU cores, or one GPU; their times then compare only '
                        'with runs of the same --jobs (default 1)')
    parser.add_argument('--keep-checkpoints', action='store_true',
                        help='keep every pretraining / fine-tuning checkpoint')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the plan and exit')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    preset = PRESETS[args.preset]
    changes = {k: v for k, v in (('pretrain_epochs', args.pretrain_epochs),
                                 ('finetune_iters', args.finetune_iters))
               if v is not None}
    if any(v < 1 for v in changes.values()):
        print(f'error: lengths must be >= 1, got {changes}', file=sys.stderr)
        return 2
    preset = replace(preset, **changes)
    work = args.work_dir or osp.join(
        'work_dirs', 'bench', preset.name + ''.join(
            f'_{k.split("_")[0]}{v}' for k, v in changes.items()))
    data = args.data or preset.data or osp.join(work, 'scenes')
    try:
        bench = Bench(preset, work, data, args.methods,
                      args.seeds if args.seeds is not None else preset.seeds,
                      gpus=args.gpus, keep_checkpoints=args.keep_checkpoints,
                      jobs=args.jobs)
        bench.check_settings(write=not args.dry_run)
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    todo = bench.plan()
    print(f'objcon-bench preset {preset.name}: methods {list(bench.methods)}, '
          f'seeds {list(bench.seeds)}; pretrain {preset.pretrain_epochs} epochs '
          f'({pretrain_iters(preset)} iterations of {preset.pretrain_batch}), '
          f'views {preset.view_size} px; fine-tune {preset.finetune_iters} '
          f'iterations at {preset.image_size} px; data {bench.data}; work dir '
          f'{bench.work_dir}; {len(todo)} row(s) to run'
          + (f', {bench.jobs} at a time' if bench.jobs > 1 else ''))
    if args.dry_run:
        for name, seed in todo:
            print(f'  {name} seed {seed}')
        return 0
    start = time.time()
    try:
        records = bench.run()
    except StepFailed as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    steps = sum(r.get(k, 0.) for r in records for k in
                ('pretrain_s', 'convert_s', 'finetune_s', 'test_s'))
    # each proposal cache is computed once and shared by the rows that read it
    steps += sum({METHODS[r['method']].proposals: r['proposals_s']
                  for r in records if METHODS[r['method']].proposals}.values())
    overrides = ''.join(f' --{k.replace("_", "-")} {v}' for k, v in changes.items())
    header = (f'objcon-bench `--preset {preset.name}{overrides}` (pretraining '
              f'{preset.pretrain_epochs} epochs, fine-tuning {preset.finetune_iters} '
              f'iterations) on {platform.node() or "?"} '
              f'({platform.machine()}, {os.cpu_count()} cores): its rows\' steps '
              f'took {steps / 60:.1f} min (this invocation '
              f'{(time.time() - start) / 60:.1f} min{_jobs_note(records)}). '
              f'AP x100 on the '
              f'{preset.val} val scenes, mean ± sample std over seeds.')
    paths = write_report(records, args.out or bench.work_dir, preset, header)
    with open(paths['md']) as f:
        print('\n' + f.read())
    print(f'report: {paths["md"]}, {paths["csv"]}, {paths["png"]}')
    missing = [r['method'] for r in records
               if not all(k in r['metrics'] for k in ('coco/bbox_mAP',
                                                      'coco/segm_mAP'))]
    if missing:
        print(f'error: no AP for {missing} (empty detections?)', file=sys.stderr)
        return 1
    return 0


def _jobs_note(records) -> str:
    jobs = sorted({r.get('jobs', 1) for r in records})
    if jobs == [1]:
        return ''
    return (f'; rows ran {"/".join(map(str, jobs))} at a time, sharing the '
            'machine: their times are longer than alone')


if __name__ == '__main__':
    sys.exit(main())
