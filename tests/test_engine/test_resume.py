"""Runner checkpoints load under torch's weights_only default (see compat.py)."""
import subprocess
import sys

from mmengine.runner import Runner

import pytest

from tests.toy import KillAfterIter, register_toys, toy_runner_cfg

# Every test trains through a Runner (one also starts Python processes).
pytestmark = pytest.mark.slow


def _train(work_dir, max_iters, **kw):
    register_toys()
    runner = Runner.from_cfg(toy_runner_cfg(work_dir, max_iters, **kw))
    runner.train()
    return runner


def test_resume_continues_at_the_saved_iteration(tmp_path):
    full = _train(tmp_path / 'full', 6)
    register_toys()
    cut = Runner.from_cfg(toy_runner_cfg(tmp_path / 'cut', 6))
    cut.register_hook(KillAfterIter(4))
    with pytest.raises(KeyboardInterrupt):
        cut.train()
    ckpt = str(tmp_path / 'cut' / 'iter_4.pth')

    register_toys()
    runner = Runner.from_cfg(
        toy_runner_cfg(tmp_path / 'cut', 6, resume=True, load_from=ckpt))
    runner.train()
    assert runner.iter == 6
    # Same seed, same data order (resumed sampler): same weights as the
    # uninterrupted run, and the same lr at the end of the schedule.
    w_full = full.model.linear.weight.detach()
    w_res = runner.model.linear.weight.detach()
    assert float((w_full - w_res).abs().max()) < 1e-6
    assert full.optim_wrapper.get_lr() == runner.optim_wrapper.get_lr()


def test_plain_torch_load_needs_objcon_safe_globals(tmp_path):
    _train(tmp_path, 2)
    ckpt = str(tmp_path / 'iter_2.pth')
    load = f'import torch; torch.load({ckpt!r}, map_location="cpu")'
    bare = subprocess.run([sys.executable, '-c', load], capture_output=True,
                          text=True)
    assert bare.returncode != 0 and 'weights_only' in bare.stderr
    patched = subprocess.run([sys.executable, '-c', 'import objcon; ' + load],
                             capture_output=True, text=True)
    assert patched.returncode == 0, patched.stderr[-2000:]
