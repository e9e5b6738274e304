"""Train (pretrain or fine-tune) from a config with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--epochs N | --iters N]
        [--resume [CKPT]] [--amp] [--cfg-options k=v ...]
    tools/dist_train.sh CONFIG GPUS [args]    # torchrun; gloo on CPU-only machines
"""
import argparse
import os

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from objcon.utils import (load_tool_config, register_all_modules,
                          set_train_length, setup_cpu_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Train with an objcon/mmdet config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (AmpOptimWrapper; needs a GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual batch size '
                        '(cfg.auto_scale_lr.base_batch_size)')
    length = parser.add_mutually_exclusive_group()
    length.add_argument('--epochs', type=int,
                        help='train this many epochs; the lr schedule is stretched '
                        'to fit (warm-up kept)')
    length.add_argument('--iters', type=int,
                        help='train this many iterations (iteration-based '
                        'configs); the lr schedule is stretched to fit')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or from the latest checkpoint of the work dir '
        'if no path is given')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. train_cfg.max_iters=100')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_cfg(args) -> Config:
    cfg = load_tool_config(args.config, args.launcher, args.cfg_options,
                           args.work_dir)
    if args.epochs is not None or args.iters is not None:
        set_train_length(cfg, epochs=args.epochs, iters=args.iters)
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper == 'AmpOptimWrapper':
            print('AMP is already enabled in the config')
        else:
            assert wrapper == 'OptimWrapper', \
                f'--amp needs an OptimWrapper, the config has {wrapper}'
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise RuntimeError('--auto-scale-lr needs auto_scale_lr.base_batch_size '
                               'in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = build_cfg(args)
    setup_cpu_distributed(cfg, args.launcher)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        from objcon.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
