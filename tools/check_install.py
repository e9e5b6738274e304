"""Check that the objcon stack imports and its compiled parts run.

Exits non-zero with the failing item named. Used at the end of tools/install.sh.
"""
import importlib.metadata as md
import sys


def main() -> int:
    checks = []

    def check(name, fn):
        try:
            detail = fn()
            checks.append((name, True, detail or ''))
        except Exception as e:  # noqa: BLE001 - report every failure
            checks.append((name, False, f'{type(e).__name__}: {e}'))

    def torch_ok():
        import torch
        import torchvision
        from torchvision.ops import nms
        nms(torch.rand(3, 4) + torch.tensor([0, 0, 1, 1]), torch.rand(3), 0.5)
        return f'torch {torch.__version__}, torchvision {torchvision.__version__}'

    def mmcv_ops_ok():
        import mmcv
        import torch
        from mmcv.ops import RoIAlign
        feat = torch.arange(16.).view(1, 1, 4, 4)
        out = RoIAlign((2, 2), 1.0, 0, aligned=True)(
            feat, torch.tensor([[0., 0., 0., 4., 4.]]))
        assert out.shape == (1, 1, 2, 2)
        return f'mmcv {mmcv.__version__} (RoIAlign ran)'

    def openmmlab_ok():
        import mmdet
        import mmdet.models  # noqa: F401
        import mmengine
        import mmpretrain
        import mmpretrain.models  # noqa: F401
        return (f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, '
                f'mmpretrain {mmpretrain.__version__}')

    def opencv_ok():
        import cv2
        cv2.ximgproc.segmentation.createSelectiveSearchSegmentation()
        dists = [d.metadata['Name'] for d in md.distributions()
                 if d.metadata['Name'].lower().startswith('opencv')]
        if len(dists) != 1:
            raise RuntimeError(f'expected one opencv distribution, found {dists}')
        return f'cv2 {cv2.__version__} from {dists[0]}, ximgproc present'

    def skimage_ok():
        import numpy as np
        import skimage
        from skimage.segmentation import felzenszwalb
        labels = felzenszwalb(np.zeros((8, 8, 3)), scale=300, sigma=0.9, min_size=4)
        assert labels.shape == (8, 8)
        return f'scikit-image {skimage.__version__} (felzenszwalb ran)'

    def objcon_ok():
        import objcon
        from objcon.utils import register_all_modules
        register_all_modules()
        return f'objcon {objcon.__version__}'

    def setuptools_ok():
        import pkg_resources  # noqa: F401  (mmengine's mmdet:: bases need it)
        return f'setuptools {md.version("setuptools")}'

    check('torch + torchvision', torch_ok)
    check('mmcv ops', mmcv_ops_ok)
    check('mmengine / mmdet / mmpretrain', openmmlab_ok)
    check('opencv contrib', opencv_ok)
    check('scikit-image', skimage_ok)
    check('pkg_resources', setuptools_ok)
    check('objcon', objcon_ok)
    width = max(len(n) for n, _, _ in checks)
    for name, ok, detail in checks:
        print(f'  {"ok  " if ok else "FAIL"} {name.ljust(width)}  {detail}')
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == '__main__':
    sys.exit(main())
