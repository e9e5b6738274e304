"""Evaluate a checkpoint with a config's test dataloader and evaluator.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
    tools/dist_test.sh CONFIG CHECKPOINT GPUS [args]
"""
import argparse
import json
import os
import sys

from mmengine.config import DictAction
from mmengine.runner import Runner

from objcon.errors import InputError
from objcon.utils import (finish_distributed, load_tool_config,
                          register_all_modules, setup_cpu_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the evaluation log goes')
    parser.add_argument('--out', help='dump raw predictions to this .pkl file')
    parser.add_argument('--metrics-json', help='write the metrics to this json file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. test_dataloader.batch_size=2')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> int:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    try:
        cfg = load_tool_config(args.config, args.launcher, args.cfg_options,
                               args.work_dir)
    except (FileNotFoundError, InputError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    cfg.load_from = args.checkpoint
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            print('error: --out must be a .pkl file', file=sys.stderr)
            return 2
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(dict(type='DumpResults', out_file_path=args.out))
    setup_cpu_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    finish_distributed()
    if runner.rank == 0:
        print({k: round(v, 4) if isinstance(v, float) else v
               for k, v in metrics.items()})
        if args.metrics_json:
            with open(args.metrics_json, 'w') as f:
                json.dump(metrics, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
