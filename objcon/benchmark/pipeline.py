"""The transfer pipeline as steps: pretrain -> convert -> fine-tune -> test.

Every step runs the tool a user would run by hand (tools/train.py,
convert_to_mmdet.py, test.py, or the dist_*.sh launchers for several GPUs) in a
subprocess, so that a benchmark row is exactly what the documented commands give.
Output of a step goes to a log file; a failing step raises with the log's tail.
"""
import csv
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# The metrics a results row keeps (mmdet CocoMetric names -> column).
METRIC_COLUMNS = {
    'coco/bbox_mAP': 'APbb', 'coco/bbox_mAP_50': 'APbb50',
    'coco/bbox_mAP_75': 'APbb75', 'coco/segm_mAP': 'APmk',
    'coco/segm_mAP_50': 'APmk50', 'coco/segm_mAP_75': 'APmk75',
}


class StepFailed(RuntimeError):
    """A pipeline step (a tool run) exited non-zero."""


def tool_env(data_root: Optional[str] = None) -> Dict[str, str]:
    """The environment of a tool run: the demo root for the demo configs, and
    mmengine's pkg_resources deprecation warning silenced."""
    env = dict(os.environ)
    if data_root is not None:
        env['OBJCON_DEMO_ROOT'] = osp.abspath(data_root)
    env['PYTHONWARNINGS'] = ','.join(filter(None, [
        env.get('PYTHONWARNINGS'), 'ignore:pkg_resources is deprecated']))
    return env


def run_tool(cmd: Sequence[str], env: Dict[str, str],
             log_file: Optional[str] = None) -> float:
    """Run ``cmd`` from the repository root; return its wall time in seconds.

    Args:
        cmd (Sequence[str]): Command line (``python tools/...``).
        env (dict): Environment.
        log_file (str, optional): Where stdout/stderr go; None shows them.

    Raises:
        StepFailed: Non-zero exit, with the last lines of the log.
    """
    start = time.time()
    if log_file is None:
        print('$ ' + ' '.join(cmd), flush=True)
        proc = subprocess.run(list(cmd), cwd=REPO, env=env)
        tail = ''
    else:
        os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
        with open(log_file, 'w') as log:
            log.write('$ ' + ' '.join(cmd) + '\n')
            log.flush()
            proc = subprocess.run(list(cmd), cwd=REPO, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        with open(log_file) as log:
            tail = ''.join(log.readlines()[-25:])
    if proc.returncode != 0:
        where = f' (log: {log_file})' if log_file else ''
        raise StepFailed(f'exit {proc.returncode}: {" ".join(cmd)}{where}\n{tail}')
    return time.time() - start


def _train_cmd(config: str, work_dir: str, gpus: int,
               length: List[str], options: Sequence[str]) -> List[str]:
    if gpus > 1:
        head = ['bash', 'tools/dist_train.sh', config, str(gpus)]
    else:
        head = [sys.executable, 'tools/train.py', config]
    cmd = head + ['--work-dir', work_dir] + length
    return cmd + (['--cfg-options', *options] if options else [])


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint mmengine's CheckpointHook wrote last in ``work_dir``."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise StepFailed(f'no checkpoint was saved in {work_dir}')
    with open(marker) as f:
        path = f.read().strip()
    return path if osp.isabs(path) else osp.join(work_dir, osp.basename(path))


def pretrain(config: str, work_dir: str, epochs: int, env: Dict[str, str],
             seed: int = 0, gpus: int = 1, options: Sequence[str] = (),
             log_file: Optional[str] = None) -> Tuple[str, float]:
    """Self-supervised pretraining for ``epochs`` (schedule stretched to fit).

    Returns:
        tuple[str, float]: The final checkpoint and the wall time (s).
    """
    opts = [f'randomness.seed={seed}', *options]
    seconds = run_tool(_train_cmd(config, work_dir, gpus, ['--epochs', str(epochs)],
                                  opts), env, log_file)
    return last_checkpoint(work_dir), seconds


def convert(checkpoint: str, out: str, part: str, detector_config: str,
            env: Dict[str, str], log_file: Optional[str] = None) -> float:
    """tools/convert_to_mmdet.py: online weights -> mmdet names, checked by
    loading into ``detector_config``."""
    return run_tool([sys.executable, 'tools/convert_to_mmdet.py', checkpoint, out,
                     '--part', part, '--config', detector_config], env, log_file)


def finetune(config: str, work_dir: str, env: Dict[str, str],
             load_from: Optional[str] = None, iters: Optional[int] = None,
             epochs: Optional[int] = None, seed: int = 0, gpus: int = 1,
             options: Sequence[str] = (), log_file: Optional[str] = None,
             validate: bool = False, save_checkpoint: bool = True
             ) -> Tuple[Optional[str], float, Optional[dict]]:
    """Fine-tune a detector with mmdet's training (optionally from converted
    weights).

    Args:
        validate (bool): Run the config's val loop (mmdet's CocoMetric) once,
            after the last iteration, in the same process, and return its
            metrics: the same numbers as :func:`evaluate` of the final
            checkpoint on the val split, without starting the test tool.
            False: no validation during training.
        save_checkpoint (bool): Save the final weights. False: none is
            written (a row that only needs the metrics saves the write).

    Returns:
        tuple: The final checkpoint (None without ``save_checkpoint``), the
        wall time (s) and the metrics (``None`` without ``validate``).
    """
    length = (['--iters', str(iters)] if iters else
              ['--epochs', str(epochs)] if epochs else [])
    opts = [f'randomness.seed={seed}']
    if iters or epochs:
        # only after the last step (mmengine validates there whatever the
        # interval), or never
        last = iters or epochs
        opts.append(f'train_cfg.val_begin={last if validate else last + 1}')
    opts += list(options)
    if load_from:
        opts.append(f'load_from={load_from}')
    if not save_checkpoint:
        opts.append('default_hooks.checkpoint=None')
    metrics_file = osp.join(work_dir, 'metrics.json')
    if validate:
        length += ['--metrics-json', metrics_file]
    seconds = run_tool(_train_cmd(config, work_dir, gpus, length, opts), env,
                       log_file)
    metrics = None
    if validate:
        with open(metrics_file) as f:
            metrics = json.load(f)
    ckpt = last_checkpoint(work_dir) if save_checkpoint else None
    return ckpt, seconds, metrics


def evaluate(config: str, checkpoint: str, work_dir: str, env: Dict[str, str],
             gpus: int = 1, options: Sequence[str] = (),
             log_file: Optional[str] = None) -> Dict[str, float]:
    """mmdet's test loop with the config's CocoMetric (pycocotools).

    Returns:
        dict[str, float]: The metrics, e.g. ``coco/bbox_mAP``.
    """
    metrics_file = osp.join(work_dir, 'metrics.json')
    if gpus > 1:
        head = ['bash', 'tools/dist_test.sh', config, checkpoint, str(gpus)]
    else:
        head = [sys.executable, 'tools/test.py', config, checkpoint]
    cmd = head + ['--work-dir', work_dir, '--metrics-json', metrics_file]
    run_tool(cmd + (['--cfg-options', *options] if options else []), env,
             log_file)
    with open(metrics_file) as f:
        return json.load(f)


def append_result(results_file: str, row: Dict[str, object]) -> None:
    """Append one row to a results table (``.csv``, or markdown otherwise); the
    header is written with the first row."""
    os.makedirs(osp.dirname(osp.abspath(results_file)), exist_ok=True)
    new = not osp.isfile(results_file) or osp.getsize(results_file) == 0
    columns = list(row)
    if results_file.endswith('.csv'):
        with open(results_file, 'a', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            if new:
                writer.writeheader()
            writer.writerow(row)
        return
    with open(results_file, 'a') as f:
        if new:
            f.write('| ' + ' | '.join(columns) + ' |\n')
            f.write('|' + '---|' * len(columns) + '\n')
        f.write('| ' + ' | '.join(_cell(row[c]) for c in columns) + ' |\n')


def _cell(value) -> str:
    if isinstance(value, float):
        return f'{value:.3f}'
    return str(value)
