"""Train (pretrain or fine-tune) from a config with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--epochs N | --iters N]
        [--resume [CKPT] | --resume-or-start] [--amp] [--metrics-json FILE]
        [--cfg-options k=v ...]
    tools/dist_train.sh CONFIG GPUS [args]    # torchrun; gloo on CPU-only machines
"""
import argparse
import json
import os
import sys

from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner

from objcon.engine.hooks import TrainingInterrupted
from objcon.errors import InputError
from objcon.utils import (drop_empty_schedulers, find_resume_checkpoint,
                          finish_distributed, load_tool_config,
                          register_all_modules, set_train_length,
                          setup_cpu_distributed)

EPILOG = """\
interrupts:
  Ctrl-C (SIGINT) or SIGTERM: with InterruptCheckpointHook in custom_hooks (objcon's
  configs have it) training saves WORK_DIR/interrupted_iter_N.pth at the end of the
  iteration under way, then stops; --resume continues from there. A second signal
  stops at once, saving nothing.

exit status:
  0 trained, 2 bad arguments or nothing to resume, 130 stopped by SIGINT,
  143 stopped by SIGTERM (checkpoint saved)."""


class UsageError(Exception):
    """A mistake in the arguments: reported in one line, exit status 2."""


def parse_args():
    parser = argparse.ArgumentParser(
        description='Train with an objcon/mmdet config', epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
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
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument(
        '--resume', nargs='?', type=str, const='auto', metavar='CKPT',
        help='resume from CKPT, or from the latest checkpoint of the work dir '
        'if no path is given; fails (status 2) if there is none')
    resume.add_argument(
        '--resume-or-start', action='store_true',
        help='resume from the latest checkpoint of the work dir if it has one, '
        'else start from scratch (for jobs a scheduler may restart)')
    parser.add_argument(
        '--metrics-json', help="write the last validation's metrics to this json "
        'file (the config must have a val loop that runs)')
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
        try:
            set_train_length(cfg, epochs=args.epochs, iters=args.iters)
        except ValueError as e:
            raise UsageError(f'--epochs/--iters: {e}') from e
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper == 'AmpOptimWrapper':
            print('AMP is already enabled in the config')
        elif wrapper != 'OptimWrapper':
            raise UsageError(f'--amp needs an OptimWrapper, the config has {wrapper}')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise UsageError('--auto-scale-lr needs auto_scale_lr.base_batch_size '
                             'in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume is not None or args.resume_or_start:
        # an explicit checkpoint, so MMEngine never "resumes" from None
        checkpoint = find_resume_checkpoint(cfg.work_dir, args.resume or 'auto')
        if checkpoint is not None:
            cfg.resume = True
            cfg.load_from = checkpoint
        elif args.resume_or_start:
            print(f'--resume-or-start: no checkpoint in {cfg.work_dir} yet, '
                  'starting from scratch')
        else:
            raise UsageError(
                f'--resume: nothing to resume in {cfg.work_dir} (no checkpoint '
                'saved there yet). Run without --resume to start from scratch, '
                'or with --resume-or-start to resume only if there is one')
    return cfg


class LastValidationMetrics(Hook):
    """Keeps the metrics of the latest validation of a training run."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.metrics = None

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.metrics = metrics


def write_metrics(runner, hook: LastValidationMetrics, path: str) -> None:
    """Rank 0 writes the last validation's metrics to ``path``."""
    if runner.rank != 0:
        return
    if hook.metrics is None:
        raise InputError('--metrics-json: no validation ran (the config has no '
                         'val loop, or its val_begin / val_interval skip every '
                         'validation)')
    with open(path, 'w') as f:
        json.dump(hook.metrics, f, indent=2)


def main() -> int:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    try:
        cfg = build_cfg(args)
    except (UsageError, FileNotFoundError, InputError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    setup_cpu_distributed(cfg, args.launcher)
    try:
        if 'runner_type' not in cfg:
            runner = Runner.from_cfg(cfg)
        else:
            from objcon.registry import RUNNERS
            runner = RUNNERS.build(cfg)
        last_val = LastValidationMetrics()
        if args.metrics_json:
            runner.register_hook(last_val)
        if runner.param_schedulers:
            # a schedule in fractions of an epoch needs the epoch length
            runner.param_schedulers = drop_empty_schedulers(
                runner.param_schedulers, len(runner.train_dataloader))
        runner.train()
        if args.metrics_json:
            write_metrics(runner, last_val, args.metrics_json)
    except TrainingInterrupted as e:
        # every rank stopped at the same iteration (the hook agrees on it)
        finish_distributed()
        print(e, file=sys.stderr)
        return e.exit_code
    except InputError as e:  # a cache, a dataset folder: the message says why
        print(f'error: {e}', file=sys.stderr)
        return 2
    finish_distributed()
    return 0


if __name__ == '__main__':
    sys.exit(main())
