"""objcon's numpy-2-safe replacement of mmcv.adjust_hue."""
import cv2
import mmcv
import mmcv.image.photometric as photometric
import numpy as np
import pytest

import objcon.datasets.transforms  # noqa: F401  (installs the patch)
from objcon.utils.mmcv_compat import adjust_hue


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_adjust_hue_negative_factor_wraps(backend):
    assert mmcv.adjust_hue is adjust_hue and photometric.adjust_hue is adjust_hue
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    out = mmcv.adjust_hue(img, -0.1, backend=backend)  # raised OverflowError
    assert out.shape == img.shape and out.dtype == np.uint8
    if backend == 'cv2':
        h_in = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)[..., 0].astype(int)
        h_out = cv2.cvtColor(out, cv2.COLOR_BGR2HSV_FULL)[..., 0].astype(int)
        diff = (h_out - h_in) % 256
        # -0.1 * 255 -> -25 -> a shift of 231 (mod 256), up to colour rounding.
        assert np.median(diff) == pytest.approx(231, abs=2)


def test_mmpretrain_colorjitter_with_hue_runs():
    from objcon.registry import TRANSFORMS
    jitter = TRANSFORMS.build(dict(type='mmpretrain.ColorJitter', hue=0.5))
    img = np.random.default_rng(1).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    np.random.seed(0)
    for _ in range(10):
        assert jitter({'img': img.copy()})['img'].shape == (8, 8, 3)
