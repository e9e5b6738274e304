"""objcon's main job on the embedded demo scenes, end to end on a CPU.

    python tools/run_demo.py [--work-dir work_dirs/demo] [--data data/demo_scenes]

Steps: generate the demo scenes if absent -> selective-search proposals of the
train images (cached) -> SoCo pretraining (R18-FPN, no labels) -> convert the
checkpoint for mmdet -> fine-tune mmdet's Mask R-CNN on the train split with labels
-> evaluate on the val split with mmdet's CocoMetric (pycocotools) -> a summary.
Each step runs the tool a user would run by hand (tools/make_demo_data.py,
precompute_proposals.py, train.py, convert_to_mmdet.py, test.py); logs stay in the
work dir. ``--no-pretrain`` fine-tunes from scratch instead (the baseline).
"""
import argparse
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from objcon.benchmark import (StepFailed, convert, evaluate, finetune,  # noqa
                              pretrain, run_tool, tool_env)
from objcon.datasets.demo_scenes import demo_scenes_exist  # noqa: E402

PRETRAIN_CONFIG = 'configs/objcon/soco_r18_fpn_demo.py'
FINETUNE_CONFIG = 'configs/benchmarks/mask-rcnn_r18_fpn_demo.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data', default='data/demo_scenes',
                        help='demo scenes root (generated if absent)')
    parser.add_argument('--pretrain-epochs', type=int, default=4,
                        help='SoCo epochs over the 400 train images (default 4)')
    parser.add_argument('--finetune-iters', type=int, default=300,
                        help='Mask R-CNN fine-tuning iterations (default 300)')
    parser.add_argument('--no-pretrain', action='store_true',
                        help='fine-tune from scratch (the baseline row)')
    parser.add_argument('--workers', type=int, default=2,
                        help='processes for the proposal precompute (default 2)')
    return parser.parse_args(argv)


def step(title: str) -> float:
    print(f'\n\033[1m==> {title}\033[0m', flush=True)
    return time.time()


def main(argv=None) -> int:
    args = parse_args(argv)
    start = time.time()
    data = osp.abspath(args.data)
    work = osp.abspath(args.work_dir)
    os.makedirs(work, exist_ok=True)
    env = tool_env(data)
    py = sys.executable
    timings = {}
    try:
        t = step(f'demo scenes in {data}')
        if demo_scenes_exist(data):
            print('present, reusing')
        else:
            run_tool([py, 'tools/make_demo_data.py', '--out', data], env)
        print(f'({time.time() - t:.0f} s)')

        load_from = None
        if not args.no_pretrain:
            cache = osp.join(data, 'proposals', 'train_soco')
            step(f'selective-search proposals of the train images -> {cache}')
            # Resumes (or returns at once) when the cache is already complete.
            timings['proposals'] = run_tool(
                [py, 'tools/precompute_proposals.py', osp.join(data, 'train'),
                 cache, '--source', 'soco', '--workers', str(args.workers)], env)

            e = args.pretrain_epochs
            step(f'SoCo pretraining, R18-FPN, {e} epochs, no labels')
            ckpt, timings['pretrain'] = pretrain(
                PRETRAIN_CONFIG, osp.join(work, 'pretrain'), e, env)

            step('convert the online weights (backbone + FPN) for mmdet')
            load_from = osp.join(work, 'soco_r18_fpn_demo_mmdet.pth')
            convert(ckpt, load_from, 'neck', FINETUNE_CONFIG, env)

        n = args.finetune_iters
        init = 'scratch' if args.no_pretrain else 'SoCo weights'
        step(f'fine-tune Mask R-CNN R18-FPN from {init}, {n} iterations, labels')
        ckpt, timings['finetune'] = finetune(
            FINETUNE_CONFIG, osp.join(work, 'finetune'), env, load_from=load_from,
            iters=n)

        step('evaluate on the val split (mmdet CocoMetric, pycocotools)')
        metrics = evaluate(FINETUNE_CONFIG, ckpt, osp.join(work, 'test'), env)
    except StepFailed as e:
        print(f'step failed: {e}', file=sys.stderr)
        return 1
    metrics_file = osp.join(work, 'test', 'metrics.json')
    total = time.time() - start
    print(f'\n\033[1mobjcon demo done in {total / 60:.1f} min\033[0m: '
          f"bbox AP {metrics['coco/bbox_mAP']:.3f} "
          f"(AP50 {metrics['coco/bbox_mAP_50']:.3f}), "
          f"segm AP {metrics['coco/segm_mAP']:.3f}; "
          + '; '.join(f'{k} {v / 60:.1f} min' for k, v in timings.items())
          + f'; detector checkpoint {ckpt}; metrics {metrics_file}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
