"""What the training tests share: tools/train.py and tools/dist_train.sh runs
on the tiny demo scenes, the scalars they log, and configs that add test hooks."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

from tests.conftest import REPO_ROOT


def train_env(demo_root: str, threads: Optional[int] = None,
              **extra: str) -> Dict[str, str]:
    """The environment of a training process.

    Args:
        demo_root (str): The demo scenes the configs read (``OBJCON_DEMO_ROOT``).
        threads (int, optional): OpenMP threads a process. Defaults to the
            test run's (``OMP_NUM_THREADS``, set in tests/conftest.py: 2, or
            under pytest-xdist each worker's share of the cores). One where two
            processes share the machine's 2 cores (two threads each slow the
            tiny convolutions down by an order of magnitude there).
        **extra (str): Further variables (e.g. ``PORT``).

    Returns:
        dict: ``os.environ`` with the demo root, this interpreter for
        tools/dist_train.sh (``PYTHON``) and this checkout first on
        ``PYTHONPATH``: the tools import this checkout's objcon (not another
        editable install) and the test hooks of the ``tests`` package.
    """
    path = [p for p in (REPO_ROOT, os.environ.get('PYTHONPATH')) if p]
    threads = threads or os.environ.get('OMP_NUM_THREADS', 2)
    return dict(os.environ, OBJCON_DEMO_ROOT=demo_root, PYTHON=sys.executable,
                OMP_NUM_THREADS=str(threads), PYTHONPATH=os.pathsep.join(path),
                **extra)


def free_port() -> int:
    """A TCP port free on this machine now (for a process group's master)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_train(config: str, work: str, options: Sequence[str] = (),
              flags: Sequence[str] = (), env: Optional[Dict[str, str]] = None,
              timeout: int = 900) -> subprocess.CompletedProcess:
    """``python tools/train.py config --work-dir work [flags] --cfg-options
    options``, from the repository root, its output captured.

    Args:
        config (str): The config, relative to the repository root or absolute.
        work (str): The work dir.
        options (Sequence[str]): ``--cfg-options`` items (none: no option).
        flags (Sequence[str]): Further arguments, e.g. ``['--resume']``.
        env (dict, optional): The process's environment (:func:`train_env`).
        timeout (int): Seconds before the run is killed. Defaults to 900.

    Returns:
        subprocess.CompletedProcess: The finished run (text stdout, stderr).
    """
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work, *flags]
    if options:
        cmd += ['--cfg-options', *options]
    return subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def run_dist_train(config: str, work: str, options: Sequence[str],
                   env: Dict[str, str], processes: int = 2,
                   timeout: int = 900) -> subprocess.CompletedProcess:
    """``bash tools/dist_train.sh config processes --work-dir work
    --cfg-options options`` (CPU: gloo) on a free port, output captured.

    Args:
        config (str): The config, relative to the repository root or absolute.
        work (str): The work dir.
        options (Sequence[str]): ``--cfg-options`` items.
        env (dict): The processes' environment (:func:`train_env`); ``PORT`` is
            set to a free port.
        processes (int): Processes to launch. Defaults to 2.
        timeout (int): Seconds before the run is killed. Defaults to 900.

    Returns:
        subprocess.CompletedProcess: The finished run (text stdout, stderr).
    """
    return subprocess.run(
        ['bash', 'tools/dist_train.sh', config, str(processes), '--work-dir', work,
         '--cfg-options', *options],
        cwd=REPO_ROOT, env=dict(env, PORT=str(free_port())), capture_output=True,
        text=True, timeout=timeout)


def logged_scalars(work: str) -> Dict[int, dict]:
    """The training scalars logged in a work dir, by iteration, over every run
    in it (a resumed run's rows follow the interrupted run's).

    Args:
        work (str): The work dir.

    Returns:
        dict[int, dict]: Each logged training row (those with a ``loss``) by
        its ``step``; a later run's row replaces an earlier one of its step.
    """
    rows = {}
    for path in sorted(glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'loss' in row:
                    rows[row['step']] = row
    return rows


def short_run_epoch_means(method: str, work: str, env: Dict[str, str],
                          epochs: int = 30,
                          lr: Optional[float] = None) -> List[float]:
    """Train ``method``'s short run that learns (benchmarks/short_runs.py) on
    the tiny scenes through tools/train.py; check that it logged every
    iteration once.

    Args:
        method (str): A key of ``SHORT_RUNS``.
        work (str): The work dir.
        env (dict): The process's environment (:func:`train_env`).
        epochs (int): Epochs of 3 iterations. Defaults to 30.
        lr (float, optional): Replace the learning rate (0: the control).

    Returns:
        list[float]: The mean summed loss of each epoch.
    """
    from benchmarks.short_runs import (ITERATIONS_AN_EPOCH, SHORT_RUNS,
                                       epoch_means, short_run_options)
    proc = run_train(SHORT_RUNS[method].config, work,
                     short_run_options(method, epochs, lr=lr), env=env, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    rows = logged_scalars(work)
    assert sorted(rows) == list(range(1, ITERATIONS_AN_EPOCH * epochs + 1))
    return epoch_means([rows[i]['loss'] for i in sorted(rows)],
                       ITERATIONS_AN_EPOCH)


def config_with_hooks(directory, base: str, signal_at: Optional[int] = None,
                      default_hooks: Optional[dict] = None,
                      custom_hooks: Optional[List[dict]] = None,
                      imports: Sequence[str] = ()) -> str:
    """Write a config that is ``base`` with test hooks added.

    Args:
        directory (str | Path): Where the config is written (a new file).
        base (str): The config it inherits, relative to the repository root.
        signal_at (int, optional): SIGINT at the end of this iteration
            (``RaiseSignalAtIter``, tests/test_engine/raise_signal_hook.py): an
            interrupt at a chosen iteration, no race. None: no signal.
        default_hooks (dict, optional): Further ``default_hooks`` entries.
        custom_hooks (list[dict], optional): ``custom_hooks``, replacing the
            base's. None: the base's.
        imports (Sequence[str]): Modules that register the hooks (besides
            ``objcon`` and, with ``signal_at``, the signal hook's).

    Returns:
        str: The written config's path.
    """
    hooks = dict(default_hooks or {})
    modules = ['objcon', *imports]
    if signal_at is not None:
        hooks['signal'] = dict(type='RaiseSignalAtIter', iteration=signal_at)
        modules.append('tests.test_engine.raise_signal_hook')
    lines = [f'_base_ = {osp.join(REPO_ROOT, base)!r}',
             f'custom_imports = dict(imports={modules!r}, '
             'allow_failed_imports=False)']
    if hooks:
        lines.append(f'default_hooks = {hooks!r}')
    if custom_hooks is not None:
        lines.append(f'custom_hooks = {custom_hooks!r}')
    stem = osp.join(str(directory), osp.splitext(osp.basename(base))[0])
    stem += '_hooks' if signal_at is None else f'_signal_at_{signal_at}'
    path, index = f'{stem}.py', 1
    while osp.exists(path):  # never overwrite a config an earlier run read
        index += 1
        path = f'{stem}_{index}.py'
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path
