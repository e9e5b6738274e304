"""tools/device_bench.sh: the wheel checks and the plan of its --dry-run (what CI
runs), and its GPU-machine sequence with a stand-in ``PYTHON`` that records its
calls (install, gpu_check.py, bench with one job per GPU, log, exit status).
"""
import hashlib
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = osp.join(REPO_ROOT, 'tools', 'device_bench.sh')
SHARED = osp.join(REPO_ROOT, '..', 'shared', 'wheels', 'device')
WHEELS = [
    'addict-2.4.0-py3-none-any.whl',
    'importlib_metadata-10.2.0-py3-none-any.whl',
    'mmcv-2.1.0-cp312-cp312-linux_x86_64.whl',
    'mmdet-3.3.0-py3-none-any.whl',
    'mmengine-0.10.7-py3-none-any.whl',
    'mmpretrain-1.2.0-py2.py3-none-any.whl',
    'opencv_contrib_python_headless-4.10.0.84-cp37-abi3-manylinux_2_17_x86_64.'
    'manylinux2014_x86_64.whl',
    'pycocotools-2.0.11-cp312-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.'
    'manylinux_2_28_x86_64.whl',
    'shapely-2.2.0-cp312-cp312-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl',
]


def _run(*args, script=SCRIPT, cwd=REPO_ROOT, **env):
    return subprocess.run(
        ['bash', script, *args], cwd=cwd, capture_output=True, text=True,
        timeout=120, env=dict(os.environ, **dict(dict(PYTHON=sys.executable), **env)))


def _wheels(folder, sums=False):
    os.makedirs(folder, exist_ok=True)
    lines = []
    for i, name in enumerate(WHEELS):
        data = f'wheel {i}'.encode()
        with open(osp.join(folder, name), 'wb') as f:
            f.write(data)
        lines.append(f'{hashlib.sha256(data).hexdigest()}  {name}\n')
    if sums:
        with open(osp.join(folder, 'SHA256SUMS'), 'w') as f:
            f.writelines(lines)
    return str(folder)


def _one_error(proc, *words):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), proc.stderr
    assert all(w in lines[0] for w in words), lines[0]


def _changed_since(marker):
    """What in the checkout (but .git) was created or modified after ``marker``."""
    return subprocess.run(
        ['find', REPO_ROOT, '-path', osp.join(REPO_ROOT, '.git'), '-prune', '-o',
         '-newer', str(marker), '-print'],
        capture_output=True, text=True).stdout.split()


def test_dry_run_prints_the_install_and_the_gpu_bench_plan(tmp_path):
    folder = _wheels(tmp_path / 'whl')
    marker = tmp_path / 'marker'
    marker.touch()
    proc = _run('--dry-run', '--wheels', folder, '--', '--seeds', '0',
                PYTHONDONTWRITEBYTECODE='1')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    install = next(line for line in proc.stdout.splitlines()
                   if ' -m pip install ' in line)
    assert '--no-index' in install and '--target /tmp/site' in install
    assert all(osp.join(folder, w) in install for w in WHEELS)
    assert 'no SHA256SUMS' in proc.stdout
    assert 'tools/bench.py --preset gpu ' in proc.stdout
    assert '--jobs ' in proc.stdout and proc.stdout.count('--seeds 0') == 1
    # the bench's own plan: the gpu preset, seed 0 only
    assert 'objcon-bench preset gpu' in proc.stdout
    assert '  scratch seed 0' in proc.stdout and 'seed 1' not in proc.stdout
    assert _changed_since(marker) == []


@pytest.mark.parametrize('args', [['--dry-run'], []])
def test_missing_wheel_folder_is_one_error_line(tmp_path, args):
    _one_error(_run(*args, '--wheels', str(tmp_path / 'nope')), 'nope')
    # a folder without the packages the bench needs
    folder = tmp_path / 'few'
    folder.mkdir()
    (folder / WHEELS[0]).write_bytes(b'')
    _one_error(_run(*args, '--wheels', str(folder)), 'no mmcv wheel')


def test_default_wheel_folder(tmp_path):
    # a checkout without .whl/ and without ../shared
    repo = tmp_path / 'repo'
    (repo / 'tools').mkdir(parents=True)
    script = str(repo / 'tools' / 'device_bench.sh')
    shutil.copy(SCRIPT, script)
    (repo / 'tools' / 'bench.py').write_text(
        'import sys\nprint("stub bench", *sys.argv[1:])\n')
    _one_error(_run('--dry-run', script=script), '.whl is absent')
    # the dry run falls back to ../shared/wheels/device beside the checkout
    _wheels(tmp_path / 'shared' / 'wheels' / 'device', sums=True)
    proc = _run('--dry-run', script=script)
    assert proc.returncode == 0, proc.stderr
    assert 'match SHA256SUMS' in proc.stdout
    assert 'stub bench --preset gpu --dry-run' in proc.stdout
    # the GPU machine has no ../shared: it wants .whl/
    _one_error(_run(script=script), '.whl is absent')


def test_relative_paths_are_from_the_callers_folder(tmp_path):
    _wheels(tmp_path / 'whl')
    proc = _run('--dry-run', '--wheels', 'whl', '--out', 'rel', cwd=tmp_path,
                PYTHON='true')  # `true`: no bench plan, which takes seconds
    assert proc.returncode == 0, proc.stderr
    assert f'{tmp_path}/whl/mmcv-2.1.0' in proc.stdout
    assert f'--work-dir {tmp_path}/rel/work --out {tmp_path}/rel ' in proc.stdout


@pytest.mark.parametrize('damage, words', [
    ('change', ['mmdet-3.3.0', 'does not match SHA256SUMS']),
    ('remove', ['mmdet-3.3.0', 'is missing']),
    ('add', ['extra-1.0-py3-none-any.whl', 'not in']),
])
def test_sha256sums_mismatch_is_an_error(tmp_path, damage, words):
    folder = _wheels(tmp_path / 'whl', sums=True)
    # intact, they pass (PYTHON=true: no bench plan, which takes seconds)
    proc = _run('--dry-run', '--wheels', folder, PYTHON='true')
    assert proc.returncode == 0 and '9 wheels' in proc.stdout, proc.stderr
    path = osp.join(folder, 'mmdet-3.3.0-py3-none-any.whl')
    if damage == 'change':
        with open(path, 'ab') as f:
            f.write(b'!')
    elif damage == 'remove':
        os.remove(path)
    else:
        open(osp.join(folder, 'extra-1.0-py3-none-any.whl'), 'w').close()
    _one_error(_run('--dry-run', '--wheels', folder), *words)


def test_stage_copies_the_wheels_and_the_check(tmp_path):
    source = _wheels(tmp_path / 'shared', sums=True)
    (tmp_path / 'shared' / 'gpu_check.py').write_text('print("ok")\n')
    (tmp_path / 'shared' / 'README.md').write_text('not carried\n')
    dest = tmp_path / 'whl'
    dest.mkdir()
    (dest / 'old-0.1-py3-none-any.whl').write_bytes(b'stale')
    proc = _run('--stage', '--from', source, '--wheels', str(dest))
    assert proc.returncode == 0, proc.stderr
    # commit.txt: the commit, for a GPU machine whose copy has no .git
    assert set(os.listdir(dest)) - {'commit.txt'} == {
        *WHEELS, 'SHA256SUMS', 'gpu_check.py'}
    assert 'match SHA256SUMS' in proc.stdout
    # inside the checkout only into a git-ignored folder (nothing is written)
    _one_error(_run('--stage', '--from', source, '--wheels',
                    osp.join(REPO_ROOT, 'tools', 'staged')), 'not git-ignored')
    assert not osp.exists(osp.join(REPO_ROOT, 'tools', 'staged'))
    _one_error(_run('--stage', '--from', str(tmp_path / 'nope')), 'nope')


@pytest.mark.skipif(not osp.isdir(SHARED), reason='no ../shared/wheels/device')
def test_dry_run_with_the_real_wheels_passes_the_checksums():
    proc = _run('--dry-run', '--wheels', SHARED)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'wheels in' in proc.stdout and 'match SHA256SUMS' in proc.stdout
    assert 'objcon-bench preset gpu' in proc.stdout


# Stands in for the GPU machine's python3: logs each call, answers like the real one.
FAKE_PYTHON = r'''#!/usr/bin/env bash
echo "$*" >> "$CALLS"
case $1 in
    -c) case $2 in
            *version_info*) echo "${FAKE_PYVER:-3.12}" ;;
            *device_count*) echo "${FAKE_GPUS:-2}" ;;
            *) echo "torch 2.11.0+cu130" ;;
        esac ;;
    -m) exit 0 ;;
    *gpu_check.py) echo "ALL OK in 1 s"; exit "${GPU_CHECK_RC:-0}" ;;
    tools/bench.py) echo "bench with PYTHONPATH=$PYTHONPATH"; exit "${BENCH_RC:-0}" ;;
esac
'''


@pytest.fixture
def machine(tmp_path):
    python = tmp_path / 'python3'
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    folder = _wheels(tmp_path / 'whl', sums=True)
    open(osp.join(folder, 'gpu_check.py'), 'w').close()
    calls = tmp_path / 'calls.txt'

    def run(**env):
        out = tmp_path / 'out'
        proc = _run('--wheels', folder, '--out', str(out), '--', '--seeds', '0',
                    **dict(dict(PYTHON=str(python), CALLS=str(calls),
                                OBJCON_SITE=str(tmp_path / 'site'),
                                PYTHONPATH='/elsewhere'), **env))
        lines = calls.read_text().splitlines() if calls.exists() else []
        return proc, lines, out
    return run


def test_machine_installs_checks_then_runs_one_bench_job_per_gpu(machine, tmp_path):
    proc, calls, out = machine(BENCH_RC='1')
    assert proc.returncode == 1, proc.stderr  # the bench's status
    steps = [c.split()[0] if not c.startswith('-') else ' '.join(c.split()[:3])
             for c in calls]
    assert steps.index('-m pip uninstall') < steps.index('-m pip install')
    install = calls[steps.index('-m pip install')]
    assert f'--target {tmp_path / "site"}' in install
    assert all(w in install for w in WHEELS)
    gpu_check = next(i for i, s in enumerate(steps) if s.endswith('gpu_check.py'))
    bench = calls[steps.index('tools/bench.py')]
    assert gpu_check < steps.index('tools/bench.py')
    assert bench == (f'tools/bench.py --preset gpu --work-dir {out / "work"} '
                     f'--out {out} --jobs 2 --seeds 0')
    log = (out / 'device_bench.log').read_text()
    assert 'ALL OK' in log
    assert (f'bench with PYTHONPATH={tmp_path / "site"}:{REPO_ROOT}:/elsewhere\n'
            in log)
    env = (out / 'environment.txt').read_text()
    assert 'date: ' in env and 'torch 2.11.0+cu130' in env


def test_machine_stops_when_the_gpu_check_fails(machine):
    proc, calls, _ = machine(GPU_CHECK_RC='1')
    assert proc.returncode == 3
    assert 'gpu_check.py failed' in proc.stderr
    assert not any(c.startswith('tools/bench.py') for c in calls)


def test_machine_stops_without_a_gpu(machine):
    proc, calls, _ = machine(FAKE_GPUS='0')
    assert proc.returncode == 3 and 'no GPU' in proc.stderr
    assert not any(c.startswith('tools/bench.py') for c in calls)


def test_machine_refuses_wheels_of_another_python(machine):
    proc, calls, _ = machine(FAKE_PYVER='3.11')
    assert proc.returncode == 2 and 'not for this Python 3.11' in proc.stderr
    assert not any('install' in c for c in calls)
