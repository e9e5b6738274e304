import pytest
from mmengine.runner import Runner

from objcon.engine.hooks import NonFiniteLossHook
from tests.toy import register_toys, toy_runner_cfg


@pytest.mark.slow
def test_stops_at_the_first_non_finite_iteration(tmp_path):
    register_toys()
    cfg = toy_runner_cfg(tmp_path, max_iters=10,
                         custom_hooks=[dict(type='NonFiniteLossHook')])
    cfg['model'] = dict(type='ToyModel', nan_at_call=3)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(FloatingPointError, match=r'iteration 3 .*loss_mse=nan'):
        runner.train()


@pytest.mark.slow
def test_finite_run_completes(tmp_path):
    register_toys()
    cfg = toy_runner_cfg(tmp_path, max_iters=4,
                         custom_hooks=[dict(type='NonFiniteLossHook')])
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 4


def test_interval_must_be_positive():
    with pytest.raises(ValueError):
        NonFiniteLossHook(interval=0)
