"""InterruptCheckpointHook on a real Runner: a signal saves, resume continues."""
import os.path as osp
import signal

import pytest
from mmengine.hooks import Hook
from mmengine.runner import Runner

from objcon.engine.hooks import InterruptCheckpointHook, TrainingInterrupted
from objcon.utils import find_resume_checkpoint
from tests.dist_utils import run_in_gloo_group
from tests.test_engine.raise_signal_hook import RaiseSignalAtIter
from tests.toy import register_toys, toy_runner_cfg


class RecordBatches(Hook):
    """The inputs of every training iteration, and the lr it ran with."""

    def __init__(self):
        self.seen = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen[runner.iter + 1] = (
            tuple(data_batch['x'].flatten().tolist()),
            runner.optim_wrapper.get_lr()['lr'][0])


def _runner(work_dir, by_epoch, signals=(), resume_from=None, **kw):
    """The toy Runner (8 samples, batch 2: 4 iterations an epoch) for 12
    iterations, with the hook, a recorder and ``(iteration, signal, times)``
    signals."""
    register_toys()
    if by_epoch:
        kw.update(train_cfg=dict(by_epoch=True, max_epochs=3),
                  default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                                     interval=1)))
    else:
        # MMEngine pauses 2 s each time an epoch sampler runs out
        kw.update(train_dataloader=dict(
            dataset=dict(type='ToyDataset'),
            sampler=dict(type='InfiniteSampler', shuffle=True),
            collate_fn=dict(type='default_collate'), batch_size=2,
            num_workers=0))
    if resume_from is not None:
        kw.update(resume=True, load_from=resume_from)
    runner = Runner.from_cfg(toy_runner_cfg(
        work_dir, 12, custom_hooks=[dict(type='InterruptCheckpointHook')], **kw))
    for iteration, signum, times in signals:
        runner.register_hook(RaiseSignalAtIter(iteration, signum, times))
    recorder = RecordBatches()
    runner.register_hook(recorder)
    return runner, recorder.seen


def _interrupted(runner, work_dir):
    with pytest.raises(TrainingInterrupted) as info:
        runner.train()
    # the handlers of the process are back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert find_resume_checkpoint(str(work_dir)) == info.value.checkpoint
    return info.value


@pytest.mark.parametrize('by_epoch', [False, True])
def test_interrupted_runs_resume_into_the_uninterrupted_one(tmp_path, by_epoch):
    full, full_seen = _runner(tmp_path / 'full', by_epoch)
    full.train()

    work = tmp_path / 'cut'
    # SIGINT in mid-epoch 2, then SIGTERM at its last batch after one resume
    runner, seen = _runner(work, by_epoch, signals=[(6, 'SIGINT', 1)])
    stop = _interrupted(runner, work)
    assert (stop.iteration, stop.exit_code) == (6, 130)
    assert osp.basename(stop.checkpoint) == 'interrupted_iter_6.pth'
    runner, more = _runner(work, by_epoch, signals=[(8, 'SIGTERM', 1)],
                           resume_from=stop.checkpoint)
    stop = _interrupted(runner, work)
    assert (stop.iteration, stop.exit_code) == (8, 143)
    seen.update(more)
    runner, more = _runner(work, by_epoch, resume_from=stop.checkpoint)
    runner.train()
    seen.update(more)

    assert runner.iter == 12 and sorted(seen) == list(range(1, 13))
    # the same batches in the same order with the same lr: the same weights
    assert seen == full_seen
    w_full = full.model.linear.weight.detach()
    w_cut = runner.model.linear.weight.detach()
    assert float((w_full - w_cut).abs().max()) < 1e-6


def test_a_second_signal_stops_at_once_without_saving(tmp_path):
    runner, _ = _runner(tmp_path, True, signals=[(3, 'SIGINT', 2)])
    with pytest.raises(KeyboardInterrupt) as info:
        runner.train()
    assert not isinstance(info.value, TrainingInterrupted)
    assert not osp.exists(tmp_path / 'interrupted_iter_3.pth')
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_signal_stays_ignored(tmp_path):
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        runner, seen = _runner(tmp_path, True, signals=[(3, 'SIGINT', 1)])
        try:
            runner.train()
        except KeyboardInterrupt:  # else pytest would take it as its own
            pytest.fail('an ignored SIGINT stopped training')
        assert runner.iter == 12
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_load_from_an_interrupted_checkpoint_trains_every_batch(tmp_path):
    runner, _ = _runner(tmp_path / 'cut', True, signals=[(6, 'SIGINT', 1)])
    stop = _interrupted(runner, tmp_path / 'cut')
    # weights only (a fine-tuning start), not a resume: no batch is skipped
    runner, seen = _runner(tmp_path / 'new', True, load_from=stop.checkpoint)
    runner.train()
    assert sorted(seen) == list(range(1, 13))


def test_refuses_unknown_signal_names():
    with pytest.raises(ValueError, match='SIGINT or SIGTERM'):
        InterruptCheckpointHook(signals=('SIGFOO', ))


def _rank_train(rank, work_dir):
    # only rank 1 gets the signal
    signals = [(3, 'SIGTERM', 1)] if rank == 1 else []
    runner, _ = _runner(work_dir, True, signals=signals)
    try:
        runner.train()
        return rank, 'finished', runner.iter
    except TrainingInterrupted as e:
        return rank, 'interrupted', e.iteration


@pytest.mark.slow
def test_ranks_stop_together_when_one_gets_the_signal(tmp_path):
    outcome = run_in_gloo_group(_rank_train, tmp_path, str(tmp_path))
    assert outcome == [(0, 'interrupted', 3), (1, 'interrupted', 3)]
    assert find_resume_checkpoint(str(tmp_path)) == str(
        tmp_path / 'interrupted_iter_3.pth')
