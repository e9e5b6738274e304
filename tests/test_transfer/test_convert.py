"""tools/convert_to_mmdet.py on a checkpoint of the demo SoCo config."""
import subprocess
import sys
import textwrap

import pytest
import torch

from objcon.transfer import (CheckpointConversionError,
                             convert_pretrain_checkpoint, verify_against_detector)



def _stock_mask_rcnn_r18(tmp_path):
    """mmdet's own mask-rcnn_r50_fpn_1x_coco.py with the demo's depth and width
    (its FPN has no norm layers: the pretrained BNs must be folded)."""
    cfg = tmp_path / 'stock_r18.py'
    cfg.write_text(textwrap.dedent("""
        _base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
        model = dict(
            backbone=dict(depth=18, init_cfg=None),
            neck=dict(in_channels=[64, 128, 256, 512], out_channels=128))
    """))
    return str(cfg)


@pytest.mark.slow  # a trained checkpoint
def test_converted_weights_load_into_stock_mask_rcnn(soco_demo_checkpoint,
                                                     tmp_path, repo_root):
    out = tmp_path / 'converted.pth'
    config = _stock_mask_rcnn_r18(tmp_path)
    # an earlier output of the tool is replaced
    torch.save(dict(state_dict={}, meta=dict(objcon_source='old.pth')), str(out))
    proc = subprocess.run(
        [sys.executable, 'tools/convert_to_mmdet.py', soco_demo_checkpoint,
         str(out), '--part', 'neck', '--config', config],
        cwd=repo_root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '0 missing, 0 unexpected' in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ['converted.pth',
                                                          'stock_r18.py']

    from objcon.transfer.convert import build_detector
    detector = build_detector(config)
    converted = torch.load(str(out), weights_only=True)['state_dict']
    result = detector.load_state_dict(converted, strict=False)
    assert not [k for k in result.missing_keys
                if k.startswith(('backbone.', 'neck.'))]
    assert not result.unexpected_keys

    # Backbone tensors equal the pretrain's online (not EMA) weights.
    pretrain = torch.load(soco_demo_checkpoint, weights_only=True)['state_dict']
    for k, v in detector.backbone.state_dict().items():
        assert torch.equal(v, pretrain['backbone.' + k]), k
    online = pretrain['backbone.conv1.weight']
    target = pretrain['target_net.module.backbone.conv1.weight']
    assert not torch.equal(online, target)

    # The FPN computes what the pretrained FPN computes in eval mode.
    from objcon.registry import MODELS
    from mmengine.config import Config
    from objcon.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromstring(
        torch.load(soco_demo_checkpoint, weights_only=True)['meta']['cfg'], '.py')
    fpn = MODELS.build(cfg.model.neck).eval()
    fpn.load_state_dict({k[5:]: v for k, v in pretrain.items()
                         if k.startswith('neck.')})
    feats = [torch.randn(1, c, s, s) for c, s in
             zip([64, 128, 256, 512], [16, 8, 4, 2])]
    detector.neck.eval()
    with torch.no_grad():
        for a, b in zip(fpn(feats), detector.neck(feats)):
            assert torch.allclose(a, b, atol=1e-4)


def test_refuses_what_is_not_an_objcon_pretrain_checkpoint(tmp_path):
    plain = tmp_path / 'plain.pth'
    torch.save({'backbone.conv1.weight': torch.zeros(1)}, str(plain))
    with pytest.raises(CheckpointConversionError, match='not an objcon'):
        convert_pretrain_checkpoint(str(plain))
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointConversionError, match='read safely'):
        convert_pretrain_checkpoint(str(garbage))
    with pytest.raises(CheckpointConversionError, match='no such'):
        convert_pretrain_checkpoint(str(tmp_path / 'absent.pth'))


@pytest.mark.parametrize('model', [
    "model = dict(type='ImageClassifier')\ndefault_scope = 'mmpretrain'",
    "model = dict(type='mmdet.ResNet', depth=18)"])
def test_refuses_a_model_neither_pretraining_nor_detector(tmp_path, model):
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict={'backbone.conv1.weight': torch.zeros(1)},
                    meta=dict(cfg=model)), str(ckpt))
    with pytest.raises(CheckpointConversionError,
                       match='nor an mmdet detector: nothing to convert'):
        convert_pretrain_checkpoint(str(ckpt), 'backbone')


@pytest.mark.slow  # a trained checkpoint
def test_refuses_missing_parts_and_mismatched_detectors(soco_demo_checkpoint):
    state, summary = convert_pretrain_checkpoint(soco_demo_checkpoint, 'neck')
    assert summary['tensors']['backbone'] > 0 and summary['tensors']['neck'] > 0
    # the stock R50 detector cannot take R18 weights
    with pytest.raises(CheckpointConversionError, match='another shape'):
        verify_against_detector(state, 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')
    with pytest.raises(CheckpointConversionError, match='part must be'):
        convert_pretrain_checkpoint(soco_demo_checkpoint, 'rpn')
    # a SoCo-FPN checkpoint without its neck tensors
    ckpt = torch.load(soco_demo_checkpoint, weights_only=True)
    ckpt['state_dict'] = {k: v for k, v in ckpt['state_dict'].items()
                          if not k.startswith('neck.')}
    import tempfile
    with tempfile.NamedTemporaryFile(suffix='.pth') as f:
        torch.save(ckpt, f.name)
        with pytest.raises(CheckpointConversionError, match='no neck weights'):
            convert_pretrain_checkpoint(f.name, 'neck')


@pytest.fixture
def convert_cli(load_script, monkeypatch):
    """tools/convert_to_mmdet.py as a module whose conversion must not start."""
    cli = load_script('tools/convert_to_mmdet.py')

    def refuse_to_convert(*args, **kwargs):
        raise AssertionError('converted before checking the output path')

    monkeypatch.setattr(cli, 'convert_pretrain_checkpoint', refuse_to_convert)
    return cli


@pytest.fixture
def runner_checkpoint(tmp_path):
    """A Runner checkpoint (optimizer state, meta.cfg), as pretraining saves."""
    from mmengine.runner import Runner

    from tests.toy import register_toys, toy_runner_cfg
    register_toys()
    Runner.from_cfg(toy_runner_cfg(tmp_path / 'run', 2)).train()
    return tmp_path / 'run' / 'iter_2.pth'


@pytest.mark.slow  # a trained checkpoint
def test_cli_refuses_to_replace_the_input_or_a_file_it_did_not_write(
        convert_cli, runner_checkpoint, tmp_path, capsys):
    original = runner_checkpoint.read_bytes()
    link = tmp_path / 'link.pth'
    link.symlink_to(runner_checkpoint)
    text = tmp_path / 'notes.pth'
    text.write_text('my notes')
    weights = tmp_path / 'weights.pth'
    torch.save({'conv.weight': torch.ones(1)}, str(weights))
    for out, reason in [(runner_checkpoint, 'is the input checkpoint'),
                        (tmp_path / 'run' / '..' / 'run' / 'iter_2.pth',
                         'is the input checkpoint'),
                        (link, 'is the input checkpoint'),
                        (text, 'not a checkpoint this tool wrote'),
                        (weights, 'a checkpoint this tool did not write')]:
        assert convert_cli.main([str(runner_checkpoint), str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith('error: ') and reason in err and '--force' in err
    other = tmp_path / 'other.pth'
    other.write_bytes(b'')
    assert convert_cli.main([str(other), str(runner_checkpoint)]) == 2
    assert 'a training checkpoint' in capsys.readouterr().err
    assert runner_checkpoint.read_bytes() == original
    assert text.read_text() == 'my notes'
    # --force lets the conversion start
    with pytest.raises(AssertionError, match='converted before'):
        convert_cli.main([str(runner_checkpoint), str(runner_checkpoint),
                          '--force'])


@pytest.mark.slow  # a trained checkpoint
def test_cli_checks_the_output_folder_before_converting(convert_cli,
                                                        runner_checkpoint,
                                                        tmp_path, capsys):
    ckpt = str(runner_checkpoint)
    assert convert_cli.main([ckpt, str(tmp_path / 'absent' / 'out.pth')]) == 2
    err = capsys.readouterr().err
    assert f"output folder {tmp_path / 'absent'} does not exist" in err
    assert convert_cli.main([ckpt, str(tmp_path)]) == 2
    assert 'is a folder' in capsys.readouterr().err
    import os
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / 'locked'
        locked.mkdir(mode=0o555)
        assert convert_cli.main([ckpt, str(locked / 'out.pth')]) == 2
        assert 'cannot write' in capsys.readouterr().err


def test_save_atomically_leaves_the_old_file_on_failure(load_script, tmp_path):
    cli = load_script('tools/convert_to_mmdet.py')
    out = tmp_path / 'converted.pth'
    cli.save_atomically(dict(state_dict={'w': torch.ones(3)}), str(out))
    assert torch.load(str(out), weights_only=True)['state_dict']['w'].sum() == 3
    import os
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    before = out.read_bytes()
    # pickling fails after the tensors are written
    with pytest.raises(Exception):
        cli.save_atomically(dict(w=torch.zeros(1000), f=lambda: 0), str(out))
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ['converted.pth']
