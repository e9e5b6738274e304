import os
import os.path as osp

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


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


def pytest_configure(config):
    os.environ.setdefault('OMP_NUM_THREADS', '2')
