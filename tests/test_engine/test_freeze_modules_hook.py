"""FreezeModulesHook through tools/train.py on the demo Mask R-CNN (objcon-bench's
frozen-backbone protocol), and the demo config's ``train_ann_file``."""
import json
import os.path as osp

import pytest
import torch

from objcon.engine.hooks import FreezeModulesHook
from objcon.errors import InputError
from tests.conftest import MASK_RCNN_DEMO, MASK_RCNN_TINY_OPTIONS, REPO_ROOT
from tests.train_utils import run_train, train_env

FROZEN = ('backbone.', 'neck.')
HEADS = ('rpn_head.', 'roi_head.')


def _state(path):
    return torch.load(path, weights_only=True)['state_dict']


def _label_subset(root: str, path: str, images: int) -> list:
    """Write the first ``images`` training images' labels to ``path``; their
    file names."""
    with open(osp.join(root, 'annotations', 'instances_train.json')) as f:
        coco = json.load(f)
    coco['images'] = coco['images'][:images]
    ids = {im['id'] for im in coco['images']}
    coco['annotations'] = [a for a in coco['annotations'] if a['image_id'] in ids]
    with open(path, 'w') as f:
        json.dump(coco, f)
    return [im['file_name'] for im in coco['images']]


@pytest.mark.slow
def test_frozen_backbone_and_neck_stay_bit_identical(mask_rcnn_demo_run,
                                                     tiny_demo_root, tmp_path):
    start = osp.join(mask_rcnn_demo_run, 'iter_2.pth')
    subset = str(tmp_path / 'two_images.json')
    _label_subset(tiny_demo_root, subset, 2)
    work = str(tmp_path / 'frozen')
    proc = run_train(
        MASK_RCNN_DEMO, work,
        [*MASK_RCNN_TINY_OPTIONS, f'load_from={start}', f'train_ann_file={subset}',
         'frozen_modules=[backbone,neck]'],
        flags=['--iters', '3'], env=train_env(tiny_demo_root))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert 'FreezeModulesHook: frozen backbone (' in proc.stdout + proc.stderr
    before, after = _state(start), _state(osp.join(work, 'iter_3.pth'))
    frozen = [k for k in before if k.startswith(FROZEN)]
    # weights and BN statistics (running mean / var, batches tracked) alike
    assert any(k.endswith('running_var') for k in frozen)
    changed = [k for k in frozen if not torch.equal(before[k], after[k])]
    assert not changed, changed[:5]
    assert any(not torch.equal(before[k], after[k])
               for k in before if k.startswith(HEADS))


@pytest.mark.slow
def test_unfrozen_backbone_changes(mask_rcnn_demo_run):
    # the same config without frozen modules: one iteration moves the backbone
    first = _state(osp.join(mask_rcnn_demo_run, 'iter_1.pth'))
    second = _state(osp.join(mask_rcnn_demo_run, 'iter_2.pth'))
    for suffix in ('conv1.weight', 'bn1.running_var'):
        assert not torch.equal(first[f'backbone.{suffix}'],
                               second[f'backbone.{suffix}'])


@pytest.mark.slow
def test_unknown_module_is_a_one_line_error(tiny_demo_root, tmp_path):
    proc = run_train(MASK_RCNN_DEMO, str(tmp_path / 'typo'),
                     [*MASK_RCNN_TINY_OPTIONS, 'frozen_modules=[backbone,nekc]'],
                     flags=['--iters', '1'], env=train_env(tiny_demo_root))
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    errors = [line for line in proc.stderr.splitlines()
              if line.startswith('error: ')]
    assert len(errors) == 1 and "'nekc'" in errors[0]
    assert "['data_preprocessor', 'backbone', 'neck', 'rpn_head', 'roi_head']" \
        in errors[0]


def test_modules_must_be_a_list_of_names():
    with pytest.raises(InputError, match='list of submodule names'):
        FreezeModulesHook('backbone')
    with pytest.raises(InputError, match='list of submodule names'):
        FreezeModulesHook(['backbone', ''])


def test_train_ann_file_takes_an_absolute_path(tiny_demo_root, tmp_path,
                                               monkeypatch):
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope

    from objcon.utils import load_config, register_all_modules
    register_all_modules(init_default_scope=False)
    monkeypatch.setenv('OBJCON_DEMO_ROOT', tiny_demo_root)
    subset = str(tmp_path / 'two_images.json')
    names = _label_subset(tiny_demo_root, subset, 2)
    config = osp.join(REPO_ROOT, MASK_RCNN_DEMO)
    with DefaultScope.overwrite_default_scope('mmdet'):
        for options, expected in [({}, None),
                                  ({'train_ann_file': subset}, names)]:
            cfg = load_config(config, options)
            dataset = DATASETS.build(cfg.train_dataloader.dataset)
            paths = [dataset.get_data_info(i)['img_path']
                     for i in range(len(dataset))]
            images = [osp.basename(p) for p in paths]
            if expected is None:  # the default: every labelled image
                assert len(images) > 2
            else:
                assert sorted(images) == sorted(expected)
            assert {osp.dirname(p) for p in paths} == {
                osp.join(tiny_demo_root, 'train')}



def _freeze_under_ddp(rank: int) -> list:
    """Freeze the first layer of a DDP-wrapped toy model and train 2 steps,
    without and with ``find_unused_parameters``: 'refused: ...', or whether the
    frozen layer stayed and the other moved."""
    from types import SimpleNamespace

    from mmengine.logging import MMLogger
    from mmengine.model import MMDistributedDataParallel
    from torch import nn
    outcomes = []
    for find_unused_parameters in (False, True):
        model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1))
        wrapped = MMDistributedDataParallel(
            model, find_unused_parameters=find_unused_parameters)
        runner = SimpleNamespace(model=wrapped,
                                 logger=MMLogger.get_instance('freeze_ddp'))
        try:
            FreezeModulesHook(['0']).before_train(runner)
        except InputError as e:
            outcomes.append(f'refused: {e}')
            continue
        frozen, head = model[0].weight.clone(), model[1].weight.clone()
        optimizer = torch.optim.SGD(wrapped.parameters(), lr=0.1, momentum=0.9,
                                    weight_decay=0.1)
        for _ in range(2):
            optimizer.zero_grad()
            wrapped(torch.randn(8, 4)).sum().backward()
            optimizer.step()
        outcomes.append(f'frozen equal {torch.equal(frozen, model[0].weight)}, '
                        f'head equal {torch.equal(head, model[1].weight)}')
    return outcomes


@pytest.mark.slow  # a process group
def test_under_ddp_needs_find_unused_parameters(tmp_path):
    from tests.dist_utils import run_in_gloo_group
    # DDP's reducer, built before the hook runs, would wait for the frozen grads
    (refused, trained), = run_in_gloo_group(_freeze_under_ddp, tmp_path,
                                            world_size=1)
    assert refused.startswith('refused: ') and 'find_unused_parameters=True' \
        in refused
    assert trained == 'frozen equal True, head equal False'
