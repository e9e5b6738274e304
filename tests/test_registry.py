"""Configs that mix mmdet, mmpretrain and objcon components build."""
import textwrap

from mmengine.config import Config
from mmengine.runner import Runner

from objcon.engine.hooks import NonFiniteLossHook
from objcon.utils import register_all_modules


def test_mmdet_mask_rcnn_base_with_an_objcon_component(tmp_path):
    cfg_file = tmp_path / 'mixed.py'
    cfg_file.write_text(textwrap.dedent("""
        _base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
        custom_imports = dict(imports=['objcon'], allow_failed_imports=False)
        model = dict(backbone=dict(init_cfg=None))  # no download
        custom_hooks = [dict(type='objcon.NonFiniteLossHook', interval=5)]
    """))
    cfg = Config.fromfile(str(cfg_file))
    assert cfg.default_scope == 'mmdet'
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)  # builds mmdet's model and objcon's hook
    assert type(runner.model).__name__ == 'MaskRCNN'
    hooks = [h for h in runner.hooks if isinstance(h, NonFiniteLossHook)]
    assert len(hooks) == 1 and hooks[0].interval == 5


def test_objcon_scope_reaches_mmdet_and_mmpretrain():
    register_all_modules()
    from objcon.registry import DATASETS, HOOKS, MODELS, TRANSFORMS
    assert MODELS.scope == 'objcon' and MODELS.parent.scope == 'mmdet'
    # Bare names fall through to mmdet (and mmcv/mmengine above it).
    assert MODELS.get('MaskRCNN').__module__.startswith('mmdet.')
    assert DATASETS.get('CocoDataset').__module__.startswith('mmdet.')
    assert TRANSFORMS.get('LoadImageFromFile') is not None
    assert HOOKS.get('NonFiniteLossHook') is NonFiniteLossHook
    # mmpretrain's algorithms by scope prefix.
    assert MODELS.get('mmpretrain.BYOL').__module__.startswith('mmpretrain.')
    # The objcon-typed dict builds inside an mmdet-scoped config too.
    from mmdet.registry import HOOKS as MMDET_HOOKS
    hook = MMDET_HOOKS.build(dict(type='objcon.NonFiniteLossHook'))
    assert isinstance(hook, NonFiniteLossHook)
