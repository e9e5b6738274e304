"""objcon-bench: does object-level pretraining beat image-level pretraining, none,
and supervised pretraining for a detector, and at what cost? One command, on
generated demo scenes.

    python tools/bench.py --preset smoke            # every row and protocol (CI)
    python tools/bench.py --preset cpu --jobs 2     # 2 CPU cores, <= 90 minutes
    python tools/bench.py --preset gpu --jobs 8     # one GPU, minutes
    python tools/bench.py --preset gpu-long         # a GPU day
    python tools/bench.py --preset cpu --track deformable-detr --jobs 2

Rows (--methods): scratch, supervised (Mask R-CNN on the pool's labels),
mmpretrain's BYOL, MoCo v2 and DenseCL, and objcon's methods (docs/bench.md).
Each pretrains ResNet-18 on the unlabeled pool for the same budget, is converted
for mmdet, and fine-tunes mmdet's Mask R-CNN under each protocol (--protocols:
10 % and 100 % of the labelled set, and a frozen backbone), evaluated on the
held-out val split with CocoMetric; every seed runs the whole row. Output in
--out: bench.md (per protocol: mean ± std over seeds, paired differences to
scratch and BYOL with 95 % intervals, what the seeds support; heat-map recall),
bench.csv (one line per row, seed and protocol) and bench.png. A rerun skips
the rows already done (records in the work dir).

--track deformable-detr: the transformer-detector track instead (rows scratch,
DETReg, UP-DETR; mmdet's Deformable DETR fine-tuned under 10 % and 100 % labels;
DETReg and UP-DETR use the BYOL pretraining of the same seed as their frozen
target, pretrained once per seed in the work dir). A work dir holds one track.
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import time
from dataclasses import replace

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from objcon.benchmark.bench import (METHODS, PRESETS, PROTOCOLS,  # noqa: E402
                                    TRACKS, Bench, pretrain_iters,
                                    protocol_records)
from objcon.benchmark.report import write_report  # noqa: E402
from objcon.benchmark.pipeline import StepFailed  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='presets:\n' + '\n'.join(
            f'  {p.name:8s} pool {p.pool}, {p.labeled} labelled, {p.val} val scenes '
            f'at {p.image_size} px, views {p.view_size} px, pretrain '
            f'{p.pretrain_epochs} epoch(s), fine-tune {p.finetune_iters} '
            f'iterations, seeds {list(p.seeds)}'
            for p in PRESETS.values()))
    parser.add_argument('--preset', choices=list(PRESETS), default='cpu')
    parser.add_argument('--track', choices=list(TRACKS), default='mask-rcnn',
                        help='the detector the rows fine-tune (default '
                        'mask-rcnn); a track may change the preset\'s lengths')
    parser.add_argument('--work-dir', help='default work_dirs/bench/<preset>, '
                        'or <preset>-<track> for another track than mask-rcnn')
    parser.add_argument('--data', help="demo scenes root (generated if absent); "
                        "default: the preset's, or <work-dir>/scenes")
    parser.add_argument('--out', help='report folder (default: the work dir)')
    parser.add_argument('--methods', nargs='+', choices=list(METHODS),
                        help="rows (default: all of the track's)")
    parser.add_argument('--protocols', nargs='+', choices=list(PROTOCOLS),
                        help="default: all that the track's detector supports")
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
    track = TRACKS[args.track]
    preset = track.preset(PRESETS[args.preset])
    changes = {k: v for k, v in (('pretrain_epochs', args.pretrain_epochs),
                                 ('finetune_iters', args.finetune_iters))
               if v is not None}
    if any(v < 1 for v in changes.values()):
        print(f'error: lengths must be >= 1, got {changes}', file=sys.stderr)
        return 2
    preset = replace(preset, **changes)
    work = args.work_dir or osp.join(
        'work_dirs', 'bench', preset.name +
        ('' if track.name == 'mask-rcnn' else f'-{track.name}') + ''.join(
            f'_{k.split("_")[0]}{v}' for k, v in changes.items()))
    data = args.data or preset.data or osp.join(work, 'scenes')
    try:
        bench = Bench(preset, work, data, args.methods or track.methods,
                      args.seeds if args.seeds is not None else preset.seeds,
                      gpus=args.gpus, keep_checkpoints=args.keep_checkpoints,
                      jobs=args.jobs, protocols=args.protocols, track=track.name)
        bench.check_settings(write=not args.dry_run)
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    todo = bench.plan()
    print(f'objcon-bench preset {preset.name}, {track.label} track: methods '
          f'{list(bench.methods)}, seeds {list(bench.seeds)}; pretrain '
          f'{preset.pretrain_epochs} epochs of a {preset.pool}-scene pool '
          f'({pretrain_iters(preset)} iterations of {preset.pretrain_batch}), views '
          f'{preset.view_size} px; fine-tune {track.label} '
          f'{preset.finetune_iters} iterations at {preset.image_size} px under '
          f'{list(bench.protocols)}; data {bench.data}; work dir '
          f'{bench.work_dir}; {len(todo)} row(s) to run'
          + (f', {bench.jobs} at a time' if bench.jobs > 1 else ''))
    if args.dry_run:
        for name, seed in todo:
            print(f'  {name} seed {seed}')
        return 0
    start = time.time()
    try:
        records = bench.run()
    except ValueError as e:  # data that does not fit the preset or the protocols
        print(f'error: {e}', file=sys.stderr)
        return 2
    except StepFailed as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    steps = sum(r.get(k, 0.) for r in records for k in ('pretrain_s', 'convert_s'))
    steps += sum(p['finetune_s'] for r in records for p in r['protocols'].values())
    # each proposal cache is computed once and shared by the rows that read it
    steps += sum({METHODS[r['method']].proposals: r['proposals_s']
                  for r in records if METHODS[r['method']].proposals}.values())
    # and each frozen target once a seed, whichever rows it served
    steps += sum({(r['target'], r['seed']): r['target_s']
                  for r in records if r.get('target')}.values())
    overrides = ''.join(f' --{k.replace("_", "-")} {v}' for k, v in changes.items())
    # a report rebuilt from finished records has no run time of its own
    invocation = (f'this invocation {(time.time() - start) / 60:.1f} min' if todo
                  else 'report rebuilt from the records; no row ran in this '
                  'invocation')
    if track.name != 'mask-rcnn':
        overrides = f' --track {track.name}' + overrides
    header = (f'objcon-bench `--preset {preset.name}{overrides}` (pretraining '
              f'{preset.pretrain_epochs} epoch(s) of a {preset.pool}-scene pool, '
              f'fine-tuning {preset.finetune_iters} iterations) on {platform.node() or "?"} '
              f'({platform.machine()}, {os.cpu_count()} cores): its rows\' steps '
              f'took {steps / 60:.1f} min ({invocation}{_jobs_note(records)}). '
              f'AP x100 on the '
              f'{preset.val} val scenes, mean ± sample std over seeds.')
    heatmap = osp.join(bench.work_dir, 'heatmap_recall.json')
    if osp.isfile(heatmap):
        with open(heatmap) as f:
            heatmap = json.load(f)
    else:
        heatmap = None
    targets = sorted({METHODS[r['target']].label for r in records if r.get('target')})
    if targets:
        header += (f' The frozen target ({", ".join(targets)}, same seed) is '
                   'pretrained once a seed and shared by the rows that use it: '
                   'each row shows its time as "frozen target min", and the total '
                   'above counts it once a seed.')
    paths = write_report(records, args.out or bench.work_dir, preset, header,
                         heatmap, track)
    with open(paths['md']) as f:
        print('\n' + f.read())
    print(f'report: {paths["md"]}, {paths["csv"]}, {paths["png"]}')
    missing = [(r['method'], p) for p in bench.protocols
               for r in protocol_records(records, p)
               if not all(k in r['metrics'] for _, k in track.metrics)]
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
