"""The installed stack: the exact import line of the foundation issue, one cv2."""
import importlib.metadata as md
import subprocess
import sys

import pytest


@pytest.mark.slow  # a fresh Python process
def test_stack_imports_and_runs_compiled_ops():
    code = ('import objcon, mmdet.models, mmpretrain.models, cv2; '
            'from mmcv.ops import RoIAlign; '
            'cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_exactly_one_opencv_distribution_with_ximgproc():
    import cv2
    names = sorted(d.metadata['Name'].lower() for d in md.distributions()
                   if d.metadata['Name'].lower().startswith('opencv'))
    assert names == ['opencv-contrib-python-headless'], names
    # The module on the path is the contrib build: ximgproc is a contrib module.
    seg = cv2.ximgproc.segmentation.createGraphSegmentation(
        sigma=0.8, k=300, min_size=10)
    import numpy as np
    labels = seg.processImage(np.zeros((8, 8, 3), np.uint8))
    assert labels.shape == (8, 8)


def test_mmcv_roi_align_is_compiled():
    import torch
    from mmcv.ops import RoIAlign
    feat = torch.arange(16.).view(1, 1, 4, 4)
    out = RoIAlign((1, 1), 1.0, 1, aligned=True)(
        feat, torch.tensor([[0., 1., 1., 3., 3.]]))
    # One sample at the box centre (2, 2) in aligned coords = pixel (1.5, 1.5).
    assert torch.allclose(out.flatten(), torch.tensor([7.5]))


def test_setuptools_keeps_pkg_resources():
    import pkg_resources  # noqa: F401
    major = int(md.version('setuptools').split('.')[0])
    assert 77 <= major < 82
