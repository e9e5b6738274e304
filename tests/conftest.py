import os
import os.path as osp
import shutil
from typing import Callable

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Small enough for CPU tests, large enough for Mask R-CNN's strides.
TINY_SPLITS = dict(train=12, val=6)
TINY_SIZE = (128, 128)


@pytest.fixture(scope='session')
def tiny_demo_root(tmp_path_factory):
    """A small demo-scenes dataset (generated once per test session)."""
    from objcon.datasets import generate_demo_scenes
    root = str(tmp_path_factory.mktemp('demo_scenes'))
    generate_demo_scenes(root, dict(TINY_SPLITS), seed=0, image_size=TINY_SIZE,
                         show_progress=False)
    return root


def _tiny_cache(root: str, source: str) -> str:
    """The ``source`` preset's cache of the tiny train split, where the demo
    configs look for it (``<root>/proposals/train_<source>``)."""
    from objcon.proposals import PRESETS, precompute_proposals
    cache = osp.join(root, 'proposals', f'train_{source}')
    precompute_proposals(PRESETS[source], osp.join(root, 'train'), cache,
                         show_progress=False)
    return cache


@pytest.fixture(scope='session')
def tiny_demo_proposals(tiny_demo_root):
    """SoCo's selective-search cache of the tiny train split."""
    return _tiny_cache(tiny_demo_root, 'soco')


@pytest.fixture(scope='session')
def tiny_ccop_proposals(tiny_demo_root):
    """CCOP's selective-search cache of the tiny train split."""
    return _tiny_cache(tiny_demo_root, 'ccop')


@pytest.fixture(scope='session')
def tiny_detcon_proposals(tiny_demo_root):
    """DetCon's FH label maps of the tiny train split."""
    return _tiny_cache(tiny_demo_root, 'detcon')


def made_once(tmp_path_factory, name: str, make: Callable[[str], None]) -> str:
    """The folder ``name``, filled by ``make(folder)`` once per test run.

    Under pytest-xdist the workers share it: the first to ask makes it while the
    others wait on a lock, then all reuse it (a failed ``make`` leaves it to the
    next worker to try).
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        root = root.parent  # the run's folder, above each worker's own
    from objcon.utils import file_lock
    path = osp.join(str(root), name)
    with file_lock(path + '.lock'):
        if not osp.isfile(osp.join(path, '.made')):
            shutil.rmtree(path, ignore_errors=True)
            os.makedirs(path)
            make(path)
            open(osp.join(path, '.made'), 'w').close()
    return path


# The demo SoCo config shrunk further for tests: same code path, seconds a run.
SOCO_TINY_OPTIONS = [
    'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False', 'default_hooks.logger.interval=1',
]


def soco_schedule_options(epochs):
    return [f'train_cfg.max_epochs={epochs}',
            f'param_scheduler.1.T_max={max(epochs - 1, 1)}',
            f'param_scheduler.1.end={epochs}']


@pytest.fixture(scope='session')
def soco_demo_checkpoint(tiny_demo_root, tiny_demo_proposals, tmp_path_factory):
    """A checkpoint of configs/objcon/soco_r18_fpn_demo.py trained for 2 epochs
    (6 iterations) on the tiny scenes, through tools/train.py."""
    from tests.train_utils import run_train, train_env

    def train(work):
        proc = run_train(
            'configs/objcon/soco_r18_fpn_demo.py', work,
            [*SOCO_TINY_OPTIONS, *soco_schedule_options(2),
             'default_hooks.checkpoint.interval=2'],
            env=train_env(tiny_demo_root))
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return osp.join(made_once(tmp_path_factory, 'soco_demo', train), 'epoch_2.pth')


# The demo Mask R-CNN shrunk for tests: 128 px, batch 2, no validation.
MASK_RCNN_DEMO = 'configs/benchmarks/mask-rcnn_r18_fpn_demo.py'
MASK_RCNN_TINY_OPTIONS = [
    'image_size=(128,128)', 'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0', 'train_cfg.val_begin=1000',
    'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
]


@pytest.fixture(scope='session')
def mask_rcnn_demo_run(tiny_demo_root, tmp_path_factory):
    """The work dir of configs/benchmarks/mask-rcnn_r18_fpn_demo.py trained for 2
    iterations on the tiny scenes through tools/train.py (the supervised row's
    pretraining): ``iter_1.pth`` and ``iter_2.pth``."""
    from tests.train_utils import run_train, train_env

    def train(work):
        proc = run_train(MASK_RCNN_DEMO, work, MASK_RCNN_TINY_OPTIONS,
                         flags=['--iters', '2'], env=train_env(tiny_demo_root))
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return made_once(tmp_path_factory, 'mask_rcnn_demo', train)


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def load_script():
    """Import a script of the repository (e.g. ``'tools/x.py'``) as a module."""
    import importlib.util

    def load(relpath):
        name = osp.splitext(osp.basename(relpath))[0]
        spec = importlib.util.spec_from_file_location(
            name, osp.join(REPO_ROOT, relpath))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def pytest_configure(config):
    workers = os.environ.get('PYTEST_XDIST_WORKER_COUNT')
    if workers:
        # each pytest-xdist worker, and the tools it launches, gets its share of
        # the cores: OpenMP threads beyond the cores spin-wait and slow the tiny
        # convolutions of these tests down many times
        os.environ['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) //
                                                int(workers)))
    else:
        os.environ.setdefault('OMP_NUM_THREADS', '2')
