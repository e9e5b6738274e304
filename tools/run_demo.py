"""objcon's main job on the embedded demo scenes, end to end on a CPU.

    python tools/run_demo.py [--work-dir work_dirs/demo] [--data data/demo_scenes]

Steps: generate the demo scenes if absent -> selective-search proposals of the
train images (cached) -> SoCo pretraining (R18-FPN, no labels) -> convert the
checkpoint for mmdet -> fine-tune mmdet's Mask R-CNN on the train split with labels
-> evaluate on the val split with mmdet's CocoMetric (pycocotools) -> a summary.
``--method`` pretrains with another row of objcon-bench's method table instead
(e.g. ``ccop``), through the same steps.
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
from objcon.benchmark.bench import FINETUNE_CONFIG, METHODS  # noqa: E402
from objcon.datasets.demo_scenes import demo_scenes_exist  # noqa: E402

# the methods that pretrain; their configs, proposal presets and transferred parts
PRETRAINED = [name for name, m in METHODS.items() if m.config]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data', default='data/demo_scenes',
                        help='demo scenes root (generated if absent)')
    parser.add_argument('--method', default='soco', choices=PRETRAINED,
                        help='the pretraining (default soco)')
    parser.add_argument('--pretrain-epochs', type=int, default=4,
                        help='pretraining epochs over the 400 train images '
                        '(default 4)')
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
        method = METHODS[args.method]
        if not args.no_pretrain:
            if method.proposals:
                source = method.proposals
                cache = osp.join(data, 'proposals', f'train_{source}')
                step(f'{source} proposals of the train images -> {cache}')
                # Resumes (or returns at once) when the cache is already complete.
                timings['proposals'] = run_tool(
                    [py, 'tools/precompute_proposals.py', osp.join(data, 'train'),
                     cache, '--source', source, '--workers', str(args.workers)],
                    env)

            e = args.pretrain_epochs
            step(f'{method.label} pretraining, {e} epochs, no labels')
            ckpt, timings['pretrain'] = pretrain(
                method.config, osp.join(work, 'pretrain'), e, env)

            part = 'backbone + FPN' if method.part == 'neck' else method.part
            step(f'convert the online weights ({part}) for mmdet')
            name = osp.splitext(osp.basename(method.config))[0]
            load_from = osp.join(work, f'{name}_mmdet.pth')
            convert(ckpt, load_from, method.part, FINETUNE_CONFIG, env)

        n = args.finetune_iters
        init = 'scratch' if args.no_pretrain else f'{method.label} weights'
        step(f'fine-tune Mask R-CNN R18-FPN from {init}, {n} iterations, labels')
        ckpt, timings['finetune'], _ = finetune(
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
