"""Detection transfer benchmark of one pretrained checkpoint, with mmdet's tools.

    python tools/benchmark_det.py CKPT CONFIG [--gpus N] [--part neck]
        [--work-dir DIR] [--results work_dirs/benchmark_results.md]
        [--iters N | --epochs N] [--seed S] [--cfg-options k=v ...]
    tools/benchmark_det.sh CKPT CONFIG GPUS [same options]

CKPT is an objcon pretraining checkpoint (or an mmpretrain BYOL / MoCo v2 / DenseCL
one: use --part backbone), or ``none`` to fine-tune CONFIG as it is (the scratch and
ImageNet-supervised reference configs). Steps: convert the online weights for
CONFIG's detector (checked by loading it) -> fine-tune with mmdet's training ->
evaluate with mmdet's test loop and CocoMetric (bbox, segm) -> append one row to
the results file (markdown, or CSV if it ends in .csv).
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from objcon.benchmark import (METRIC_COLUMNS, StepFailed, append_result,  # noqa
                              convert, evaluate, finetune, tool_env)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help="pretraining checkpoint, or 'none'")
    parser.add_argument('config', help='detector config (configs/benchmarks/...)')
    parser.add_argument('--gpus', type=int, default=1,
                        help='> 1: tools/dist_train.sh and dist_test.sh')
    parser.add_argument('--part', default='neck',
                        choices=['backbone', 'neck', 'head'],
                        help='what transfers (default neck = backbone + FPN)')
    parser.add_argument('--work-dir', help='default work_dirs/benchmark/<ckpt>_<config>')
    parser.add_argument('--results', default='work_dirs/benchmark_results.md')
    length = parser.add_mutually_exclusive_group()
    length.add_argument('--iters', type=int, help='fine-tuning iterations')
    length.add_argument('--epochs', type=int, help='fine-tuning epochs')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--data', help='OBJCON_DEMO_ROOT for the demo configs')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='fine-tuning config overrides')
    args = parser.parse_args(argv)
    # the steps run from the repository root: paths given from here must hold there
    for name in ('checkpoint', 'config'):  # or 'none' / an mmdet:: name
        if osp.exists(getattr(args, name)):
            setattr(args, name, osp.abspath(getattr(args, name)))
    for name in ('work_dir', 'results', 'data'):
        if getattr(args, name):
            setattr(args, name, osp.abspath(getattr(args, name)))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    env = tool_env(args.data)
    pretrained = args.checkpoint.lower() != 'none'
    if pretrained and not osp.isfile(args.checkpoint):
        print(f'error: no such checkpoint: {args.checkpoint}', file=sys.stderr)
        return 2
    config_name = osp.splitext(osp.basename(args.config))[0]
    ckpt_name = (osp.splitext(osp.basename(args.checkpoint))[0]
                 if pretrained else 'none')
    work = osp.abspath(args.work_dir or osp.join(
        'work_dirs', 'benchmark', f'{ckpt_name}_{config_name}'))
    start = time.time()
    try:
        load_from = None
        if pretrained:
            load_from = osp.join(work, 'converted.pth')
            print(f'[1/3] convert {args.checkpoint} ({args.part}) -> {load_from}')
            convert(args.checkpoint, load_from, args.part, args.config, env,
                    osp.join(work, 'convert.log'))
        print(f'[2/3] fine-tune {args.config} (log {work}/finetune.log)')
        ckpt, ft_seconds, _ = finetune(
            args.config, osp.join(work, 'finetune'), env, load_from=load_from,
            iters=args.iters, epochs=args.epochs, seed=args.seed, gpus=args.gpus,
            options=args.cfg_options, log_file=osp.join(work, 'finetune.log'))
        print(f'[3/3] evaluate {ckpt} (log {work}/test.log)')
        metrics = evaluate(args.config, ckpt, osp.join(work, 'test'), env,
                           gpus=args.gpus, log_file=osp.join(work, 'test.log'))
    except StepFailed as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    row = dict(checkpoint=args.checkpoint if pretrained else 'none (scratch or '
               "the config's own init)", part=args.part if pretrained else '-',
               config=config_name, seed=args.seed)
    row.update({col: metrics.get(key, float('nan'))
                for key, col in METRIC_COLUMNS.items()})
    row['finetune_min'] = ft_seconds / 60
    append_result(args.results, row)
    print(' '.join(f'{k} {v:.3f}' for k, v in row.items() if k.startswith('AP'))
          + f'; {(time.time() - start) / 60:.1f} min; row appended to '
          f'{args.results}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
