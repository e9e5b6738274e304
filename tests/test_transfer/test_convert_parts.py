"""tools/convert_to_mmdet.py on R50 SoCo checkpoints: SoCo-C4 (``--part backbone``
and ``head``) into the C4 benchmark detector, SoCo-FPN ``--part head`` into the
4conv1fc benchmark detector.

The checkpoints are written here in the Runner's format from freshly built models
whose every tensor (online and EMA target, parameters and buffers) is random, so a
value can only arrive in the detector from the online tensor it was converted
from. The detector loads the file the way fine-tuning does (``load_from``).
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import load_checkpoint

from objcon.utils import register_all_modules
from tests.conftest import REPO_ROOT
from tests.test_transfer.random_checkpoint import (online_tensors,
                                                  save_random_checkpoint)

SOCO_C4 = 'configs/objcon/soco_r50_c4_400e.py'
SOCO_FPN = 'configs/objcon/soco_r50_fpn_400e.py'
DET_C4 = 'configs/benchmarks/mask-rcnn_r50_c4_syncbn_1x_coco.py'
DET_4CONV1FC = 'configs/benchmarks/mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco.py'
# Builds R50 SoCo models and detectors and writes ~300 MB checkpoints: seconds each.
pytestmark = pytest.mark.slow

BOX_HEAD_TRUNK = tuple(f'roi_head.bbox_head.shared_convs.{i}.' for i in range(4)) + (
    'roi_head.bbox_head.shared_fcs.0.', )


def _build(config: str):
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmdet')):
        return cfg, MODELS.build(cfg.model)


def _random_checkpoint(config: str, path: str) -> dict:
    """Write a Runner-style checkpoint of ``config``'s model with random tensors.

    Returns:
        dict: The online tensors (EMA target left out), by pretraining name.
    """
    return online_tensors(save_random_checkpoint(*_build(config), path))


def _pretrained(key: str, online: dict) -> torch.Tensor:
    """The online pretraining tensor a detector key comes from: mmdet's modules
    keep their names in both models (``backbone.*``; res5 ``shared_head.*``; the
    box-head trunk ``shared_convs.*``, ``shared_fcs.*``)."""
    suffix = key[len('roi_head.'):] if key.startswith('roi_head.') else key
    suffix = suffix[len('bbox_head.'):] if suffix.startswith('bbox_head.') else suffix
    found = [k for k in online if k == suffix or k.endswith('.' + suffix)]
    assert len(found) == 1, f'{key}: pretraining tensors {found}'
    return online[found[0]]


def _convert_and_load(load_script, ckpt: str, out: str, part: str,
                      detector_config: str):
    convert = load_script('tools/convert_to_mmdet.py')
    assert convert.main([ckpt, out, '--part', part, '--config',
                         osp.join(REPO_ROOT, detector_config)]) == 0
    converted = torch.load(out, weights_only=True)['state_dict']
    _, detector = _build(detector_config)
    load_checkpoint(detector, out, map_location='cpu', strict=False)
    loaded = detector.state_dict()
    unexpected = sorted(set(converted) - set(loaded))
    assert not unexpected, unexpected[:5]
    for key, value in converted.items():
        assert torch.equal(loaded[key], value), key
    return converted, loaded


@pytest.fixture(scope='module')
def soco_c4_checkpoint(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('soco_c4') / 'soco_r50_c4.pth')
    return path, _random_checkpoint(SOCO_C4, path)


@pytest.mark.parametrize('part', ['backbone', 'head'])
def test_soco_c4_converts_into_the_c4_benchmark(part, soco_c4_checkpoint,
                                                tmp_path, load_script):
    ckpt, online = soco_c4_checkpoint
    converted, loaded = _convert_and_load(load_script, ckpt, str(tmp_path / 'c4.pth'),
                                          part, DET_C4)
    # res1-4 and res5: every tensor of the detector's backbone and shared head
    wanted = [k for k in loaded if k.startswith(('backbone.', 'roi_head.shared_head.'))]
    assert any(k.startswith('roi_head.shared_head.layer4.') for k in wanted)
    missing = sorted(set(wanted) - set(converted))
    assert not missing, missing[:5]
    assert set(converted) == set(wanted)  # C4 has no FPN and no box-head trunk
    for key in wanted:
        assert torch.equal(loaded[key], _pretrained(key, online)), key


def test_soco_fpn_head_carries_the_box_head_trunk(tmp_path, load_script):
    ckpt = str(tmp_path / 'soco_r50_fpn.pth')
    online = _random_checkpoint(SOCO_FPN, ckpt)
    converted, loaded = _convert_and_load(load_script, ckpt, str(tmp_path / 'fpn.pth'),
                                          'head', DET_4CONV1FC)
    for prefix in BOX_HEAD_TRUNK:
        keys = [k for k in loaded if k.startswith(prefix)]
        assert keys and all(k in converted for k in keys), prefix
        for key in keys:
            assert torch.equal(loaded[key], _pretrained(key, online)), key
    # the head part includes backbone and FPN; the classifier stays the detector's
    assert any(k.startswith('backbone.') for k in converted)
    assert any(k.startswith('neck.') for k in converted)
    assert not any(k.startswith(('roi_head.bbox_head.fc_', 'rpn_head.',
                                 'roi_head.mask_head.')) for k in converted)
