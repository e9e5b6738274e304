"""Every config under configs/ (bases excluded) loads as tools/train.py loads it,
builds its model, runs its train pipeline on generated demo images and takes one
training step (forward, backward, optimiser step) on a batch of two.

Pretraining configs read the tiny demo scenes as an unlabeled image folder, with
SoCo's selective-search cache of them; detection benchmarks read the scenes' COCO
annotations. Transforms are found by their ``type``, never by list index. Inputs
are shrunk (views of at most 64 px and 2 boxes per pair, detection images of at
most 128 px and 8 sampled RoIs) so that an R50 step fits a CPU test; the steps of
the R50 configs (``r50`` in the file name) are ``slow``.
"""
import glob
import os.path as osp
from typing import Optional

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import MessageHub
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, TRANSFORMS, DefaultScope
from mmengine.runner import Runner

from objcon.datasets import DEMO_CLASSES
from objcon.utils import load_tool_config, register_all_modules
from tests.conftest import REPO_ROOT

CONFIGS = sorted(
    osp.relpath(path, REPO_ROOT)
    for path in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'),
                          recursive=True)
    if '_base_' not in osp.relpath(path, REPO_ROOT).split(osp.sep))
DETECTION_DIR = osp.join('configs', 'benchmarks')
DETECTORS = ('MaskRCNN', 'FasterRCNN', 'DeformableDETR', 'DETR')

BATCH_SIZE = 2
# Limits of the inputs a step runs on (larger ones are scaled down to them).
MAX_VIEW_SIZE = 64
MAX_BOXES = 2
MAX_DET_SIZE = 128
MAX_PROPOSALS = 64
MAX_SAMPLED_ROIS = 8
MAX_CROP_SIZE = 32  # ObjectCrops (DETReg, UP-DETR)
# Detection resize transforms and their scale argument.
RESIZE_KEYS = dict(Resize='scale', RandomResize='scale', RandomChoiceResize='scales')
# AmpOptimWrapper refuses a machine without CUDA: a CPU steps with OptimWrapper.
CPU_OPTIM_WRAPPERS = {'AmpOptimWrapper': 'OptimWrapper'}


def _params(config: str, slow_r50: bool = False):
    marks = [pytest.mark.slow] if slow_r50 and 'r50' in osp.basename(config) else []
    name = osp.splitext(osp.relpath(config, 'configs'))[0]
    return pytest.param(config, marks=marks, id=name)


def _walk(node):
    """Yield every dict of a config tree (dicts and lists)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _walk(value)


def _type_name(transform: dict) -> str:
    return str(transform.get('type', '')).split('.')[-1]


def _train_set(cfg: Config) -> ConfigDict:
    """The train dataset that holds the pipeline (the first of a concatenation,
    e.g. VOC07 + VOC12)."""
    dataset = cfg.train_dataloader.dataset
    if _type_name(dataset) == 'ConcatDataset':
        return dataset.datasets[0]
    return dataset


def _transforms(cfg: Config, name: str) -> list:
    """The train pipeline's transforms of type ``name``, nested ones included."""
    return [t for t in _walk(_train_set(cfg).pipeline) if _type_name(t) == name]


def _without_downloads(model_cfg: ConfigDict) -> None:
    """Drop pretrained weights from every module config (tests never download)."""
    for node in _walk(model_cfg):
        init = node.get('init_cfg')
        inits = init if isinstance(init, list) else [init]
        if any(isinstance(i, dict) and i.get('type') == 'Pretrained' for i in inits):
            node['init_cfg'] = None
        if node.get('pretrained') is not None:
            node['pretrained'] = None


def _with_target_checkpoint(model_cfg: ConfigDict, work_dir: str) -> None:
    """Give every FrozenBackbone (DETReg, UP-DETR) a checkpoint of its ResNet
    made here (random weights; the detector's backbone loads it too): nothing is
    downloaded or needed on disk."""
    from mmdet.models.backbones import ResNet
    for node in _walk(model_cfg):
        if _type_name(node) != 'FrozenBackbone':
            continue
        backbone = ResNet(depth=node['backbone']['depth'])
        path = osp.join(work_dir, f'target_{id(node)}.pth')
        torch.save(dict(state_dict={f'backbone.{k}': v for k, v in
                                    backbone.state_dict().items()}), path)
        node['checkpoint'] = path


def _shrink_views(cfg: Config) -> None:
    """Scale every ObjectViews view to at most ``MAX_VIEW_SIZE`` (the model
    scales its level thresholds with the views), with at most ``MAX_BOXES`` per
    pair; mmpretrain RandomResizedCrop views likewise."""
    for views in _transforms(cfg, 'ObjectViews'):
        # the object trunk (4conv1fc or res5) on every box dominates a step
        views['num_boxes'] = min(views.get('num_boxes', MAX_BOXES), MAX_BOXES)
        sizes = [v['size'] for v in views['views']]
        largest = max(max(s) if isinstance(s, (list, tuple)) else s for s in sizes)
        factor = min(1., MAX_VIEW_SIZE / largest)
        for view in views['views']:
            size = view['size']
            view['size'] = tuple(max(round(s * factor), 16) for s in size) \
                if isinstance(size, (list, tuple)) else max(round(size * factor), 16)
    for crop in _transforms(cfg, 'RandomResizedCrop'):
        scale = crop['scale']
        crop['scale'] = tuple(min(s, MAX_VIEW_SIZE) for s in scale) \
            if isinstance(scale, (list, tuple)) else min(scale, MAX_VIEW_SIZE)


def _shrink_images(cfg: Config) -> None:
    """Detection images resized to at most ``MAX_DET_SIZE`` square."""
    for name, key in RESIZE_KEYS.items():
        for resize in _transforms(cfg, name):
            if key == 'scales':
                resize[key] = [(MAX_DET_SIZE, MAX_DET_SIZE)]
            else:
                resize[key] = (MAX_DET_SIZE, MAX_DET_SIZE)


def _shrink_detector(cfg: Config) -> None:
    """Fewer proposals and sampled RoIs: the RoI heads (res5 for C4) dominate an
    R50 detector's CPU step otherwise."""
    train_cfg = cfg.model.get('train_cfg') or {}
    if 'rpn_proposal' in train_cfg:
        train_cfg.rpn_proposal.max_per_img = MAX_PROPOSALS
    if 'rcnn' in train_cfg:
        train_cfg.rcnn.sampler.num = MAX_SAMPLED_ROIS


def _on_demo_scenes(cfg: Config, demo_root: str, proposals: str,
                    mask_proposals: Optional[str] = None) -> None:
    """Point the train set at the demo scenes (``mask_proposals``: the cache of
    a pipeline that reads label maps), shrink the inputs."""
    dataset = cfg.train_dataloader.dataset
    kind = _type_name(dataset)
    if kind == 'ConcatDataset':  # VOC07+12: the demo scenes in COCO format instead
        dataset = cfg.train_dataloader.dataset = ConfigDict(
            type='CocoDataset', pipeline=_train_set(cfg).pipeline)
        kind = 'CocoDataset'
    if kind == 'CocoDataset':
        dataset.update(data_root=demo_root, ann_file='annotations/instances_train.json',
                       data_prefix=dict(img='train/'),
                       metainfo=dict(classes=DEMO_CLASSES))
    elif kind in ('CustomDataset', 'UnlabeledImageDataset'):
        dataset.update(data_root=demo_root, data_prefix='train')
        if dataset.get('ann_file', '').endswith('.json'):  # a COCO image list
            dataset.ann_file = 'annotations/instances_train.json'
    else:
        raise AssertionError(f'{kind}: teach this test where its demo data are')
    for load in _transforms(cfg, 'LoadProposals'):
        if load.get('source'):  # online (UP-DETR's random patches)
            continue
        assert load.get('cache'), 'expected a cached or online proposal source'
        load.update(cache=mask_proposals if load.get('mask_key') else proposals,
                    img_root=osp.join(demo_root, 'train'))
    for crops in _transforms(cfg, 'ObjectCrops'):
        crops['size'] = min(crops.get('size', MAX_CROP_SIZE), MAX_CROP_SIZE)
    _shrink_views(cfg)
    _shrink_images(cfg)
    _shrink_detector(cfg)
    cfg.train_dataloader.update(batch_size=BATCH_SIZE, num_workers=0,
                                persistent_workers=False)


def _load(config: str, work_dir: str) -> Config:
    register_all_modules(init_default_scope=False)
    return load_tool_config(osp.join(REPO_ROOT, config), work_dir=work_dir)


def test_every_config_directory_is_covered():
    assert len(CONFIGS) >= 17
    kinds = {c.split(osp.sep)[1] for c in CONFIGS}
    assert kinds == {'baselines', 'benchmarks', 'objcon'}, kinds


@pytest.mark.parametrize('config', [_params(c) for c in CONFIGS])
def test_config_builds_its_model_and_train_pipeline(config, tmp_path):
    cfg = _load(config, str(tmp_path))
    _without_downloads(cfg.model)
    _with_target_checkpoint(cfg.model, str(tmp_path))
    pipeline = _train_set(cfg).pipeline
    assert _type_name(pipeline[0]) in ('LoadImageFromFile', 'LoadImageOrSkip')
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        for transform in pipeline:
            TRANSFORMS.build(transform)
        model = MODELS.build(cfg.model)
    detector = type(model).__name__ in DETECTORS
    assert detector == config.startswith(DETECTION_DIR), type(model)


# Signature (model, pipeline, optimiser after the test's changes) -> the config
# whose step passed with it in this session: an identical set-up (a benchmark that
# differs only in schedule, load_from or its pretrained init) is not stepped twice.
_STEPPED = {}


def _step_config(config: str, work_dir: str, demo_root: str,
                 proposals: str, mask_proposals: Optional[str] = None) -> Config:
    """The config as the test trains it: no download, demo data, small inputs, an
    optimiser wrapper that runs on this machine."""
    cfg = _load(config, work_dir)
    _without_downloads(cfg.model)
    _with_target_checkpoint(cfg.model, work_dir)
    _on_demo_scenes(cfg, demo_root, proposals, mask_proposals)
    wrapper = cfg.optim_wrapper
    if not torch.cuda.is_available() and wrapper.get('type') in CPU_OPTIM_WRAPPERS:
        wrapper.type = CPU_OPTIM_WRAPPERS[wrapper.type]
        wrapper.pop('loss_scale', None)
    return cfg


@pytest.mark.parametrize('config', [_params(c, slow_r50=True) for c in CONFIGS])
def test_config_trains_one_step_on_demo_scenes(config, tmp_path, tiny_demo_root,
                                               tiny_demo_proposals,
                                               tiny_detcon_proposals):
    cfg = _step_config(config, str(tmp_path), tiny_demo_root, tiny_demo_proposals,
                       tiny_detcon_proposals)
    model_cfg = cfg.model.to_dict()
    for node in _walk(model_cfg):  # per-test target checkpoints: same weights
        if _type_name(node) == 'FrozenBackbone':
            node['checkpoint'] = None
    signature = repr([model_cfg, cfg.train_dataloader.to_dict(),
                      cfg.optim_wrapper.to_dict()])
    if signature in _STEPPED:
        pytest.skip(f'same model, data and optimiser as {_STEPPED[signature]}, '
                    'whose step passed')
    torch.manual_seed(0)
    MessageHub.get_current_instance().update_info('max_iters', 100)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
        batch = next(iter(loader))
        model = MODELS.build(cfg.model)
        model.init_weights()
        model = revert_sync_batchnorm(model)  # as the Runner does, undistributed
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        # DETR-family pretrainers keep their detector's backbone fixed (lr 0):
        # their encoder must move instead. mmdet's stock DETR configs freeze
        # the stem and BN (zero-initialised last BN of each block without
        # pretrained weights: only the shortcuts get a gradient): some
        # trainable weight must move
        trained = model.detector.encoder if hasattr(model, 'detector') \
            else model.backbone
        weights = [p for p in trained.parameters() if p.requires_grad]
        before = [p.detach().clone() for p in weights]
        model.train()
        log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss']), log_vars
    # the gradient reached the trained module and the optimiser stepped
    assert any(not torch.equal(p.detach(), b) for p, b in zip(weights, before)), \
        'no step reached the backbone'
    _STEPPED[signature] = config
