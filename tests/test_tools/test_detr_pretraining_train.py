"""The DETReg and UP-DETR demo configs through tools/train.py (CPU): DETReg
interrupted, resumed, its loss falling, its frozen target unchanged, its detector
converted for fine-tuning; UP-DETR interrupted, resumed, its loss falling, its
frozen target unchanged."""
import os.path as osp

import pytest
import torch

from tests.conftest import SOCO_TINY_OPTIONS, _tiny_cache
from tests.train_utils import (config_with_hooks, logged_scalars, run_train,
                               train_env)

pytestmark = pytest.mark.slow

CONFIG = 'configs/objcon/detreg_deformable-detr_r18_demo.py'
UPDETR_CONFIG = 'configs/objcon/updetr_detr_r18_demo.py'
FINETUNE = 'configs/benchmarks/deformable-detr_r18_demo.py'
EPOCHS = 2  # 12 images / 4 = 3 iterations an epoch
# the demo config at the tiny scenes' size: 128-px images, 32-px crops, 8 boxes,
# 30 queries, 1 encoder and 2 decoder layers (same code path, a third of the time)
SMALLER = dict(num_queries=30, encoder=dict(num_layers=1),
               decoder=dict(num_layers=2))
OPTIONS = [*SOCO_TINY_OPTIONS, f'train_cfg.max_epochs={EPOCHS}',
           'default_hooks.checkpoint.interval=1', 'image_scales=[(128,128)]',
           'crop_size=32', 'num_boxes=8', 'model.detector.num_queries=30',
           'model.detector.encoder.num_layers=1',
           'model.detector.decoder.num_layers=2']


@pytest.fixture(scope='module')
def detreg_inputs(tiny_demo_root, tmp_path_factory):
    """The detreg selective-search cache of the tiny train split (where the demo
    config looks for it) and an R18 target checkpoint made here."""
    from mmdet.models.backbones import ResNet

    cache = _tiny_cache(tiny_demo_root, 'detreg')
    torch.manual_seed(0)
    target = str(tmp_path_factory.mktemp('target') / 'r18.pth')
    torch.save(dict(state_dict={f'backbone.{k}': v for k, v in
                                ResNet(depth=18).state_dict().items()}), target)
    return cache, target


def test_interrupted_resumed_loss_falls_target_frozen_and_converts(
        tiny_demo_root, detreg_inputs, repo_root, tmp_path, load_script, capsys):
    _, target = detreg_inputs
    work = str(tmp_path / 'work')
    env = train_env(tiny_demo_root)

    def train(config, resume_flag):
        return run_train(config, work, [*OPTIONS, f'target_checkpoint={target}'],
                         [resume_flag], env)

    # a missing target checkpoint: one error line, before any work
    proc = run_train(osp.join(repo_root, CONFIG), work,
                     [*OPTIONS, f'target_checkpoint={tmp_path}/absent.pth'],
                     env=env)
    assert proc.returncode == 2, (proc.stdout + proc.stderr)[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f"error: the frozen target backbone needs a checkpoint; no file at "
        f"'{tmp_path}/absent.pth'")
    assert 'Traceback' not in proc.stderr

    # killed (SIGINT) after iteration 2, then resumed to the end
    proc = train(config_with_hooks(tmp_path, CONFIG, signal_at=2),
                 '--resume-or-start')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 130, out[-3000:]
    assert sorted(logged_scalars(work)) == [1, 2]
    proc = train(osp.join(repo_root, CONFIG), '--resume')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'resumed epoch: 0, iter: 2' in out
    rows = logged_scalars(work)
    last = 3 * EPOCHS
    assert sorted(rows) == list(range(1, last + 1))  # none repeated or lost
    losses = [rows[i]['loss'] for i in sorted(rows)]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.5, losses
    assert all(r['num_targets'] >= 2 for r in rows.values())
    for name in ('loss_cls', 'loss_bbox', 'loss_iou', 'd0.loss_cls', 'loss_embed'):
        assert name in rows[last], rows[last]

    # the frozen target is the checkpoint's backbone at the end of the run
    ckpt = osp.join(work, f'epoch_{EPOCHS}.pth')
    state = torch.load(ckpt, weights_only=False)['state_dict']
    given = torch.load(target, weights_only=True)['state_dict']
    target_keys = [k for k in state if k.startswith('target.backbone.')]
    assert target_keys
    for k in target_keys:
        assert torch.equal(state[k], given['backbone.' + k[len('target.backbone.'):]])

    # the whole detector converts into the demo fine-tuning detector (as small)
    finetune = tmp_path / 'finetune.py'
    finetune.write_text(f'_base_ = {osp.join(repo_root, FINETUNE)!r}\n'
                        f'model = dict(**{SMALLER!r})\n')
    tool = load_script('tools/convert_to_mmdet.py')
    out = str(tmp_path / 'detreg_mmdet.pth')
    assert tool.main([ckpt, out, '--part', 'head', '--config',
                      str(finetune)]) == 0
    assert '0 missing, 0 unexpected' in capsys.readouterr().out


def test_updetr_interrupted_resumed_loss_falls_target_frozen(
        tiny_demo_root, detreg_inputs, repo_root, tmp_path):
    """UP-DETR's demo: SIGINT after iteration 2, ``--resume`` to the end; no
    iteration repeated or lost, the loss falls, the frozen target is the given
    checkpoint's backbone at the end."""
    _, target = detreg_inputs
    work = str(tmp_path / 'work')
    options = [*SOCO_TINY_OPTIONS, f'train_cfg.max_epochs={EPOCHS}',
               'default_hooks.checkpoint.interval=1', 'image_scales=[(128,128)]',
               'crop_size=32', f'target_checkpoint={target}',
               'model.detector.num_queries=20',
               'model.detector.encoder.num_layers=1',
               'model.detector.decoder.num_layers=2']
    env = train_env(tiny_demo_root)
    proc = run_train(config_with_hooks(tmp_path, UPDETR_CONFIG, signal_at=2), work,
                     options, env=env)
    assert proc.returncode == 130, (proc.stdout + proc.stderr)[-3000:]
    assert sorted(logged_scalars(work)) == [1, 2]
    proc = run_train(UPDETR_CONFIG, work, options, ['--resume'], env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'resumed epoch: 0, iter: 2' in out
    rows = logged_scalars(work)
    assert sorted(rows) == list(range(1, 3 * EPOCHS + 1))
    losses = [rows[i]['loss'] for i in sorted(rows)]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3, losses
    assert all(0 < r['loss_feature'] <= 4 for r in rows.values())
    state = torch.load(osp.join(work, f'epoch_{EPOCHS}.pth'),
                       weights_only=False)['state_dict']
    given = torch.load(target, weights_only=True)['state_dict']
    target_keys = [k for k in state if k.startswith('target.backbone.')]
    assert target_keys
    for k in target_keys:
        assert torch.equal(state[k], given['backbone.' + k[len('target.backbone.'):]])
