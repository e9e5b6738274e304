"""The demo CCOP config through tools/train.py and tools/dist_train.sh (CPU)."""
import json
import math
import os.path as osp

import pytest

from benchmarks.short_runs import (ITERATIONS_AN_EPOCH, epoch_means, fall_from_peak,
                                   short_run_options)
from tests.conftest import SOCO_TINY_OPTIONS, soco_schedule_options
from tests.train_utils import (config_with_hooks, logged_scalars, run_dist_train,
                               run_train, train_env)

pytestmark = pytest.mark.slow

CONFIG = 'configs/objcon/ccop_r18_fpn_demo.py'
EPOCHS = 30  # 12 images / 4 = 3 iterations an epoch
LAST = 3 * EPOCHS
QUEUE = 20  # the two-process run's
SHORT_QUEUE = 8  # the full run's: benchmarks/short_runs.py
CUT = 5  # the interrupted run stops after this iteration (mid-epoch 2)
RESUMED = 2  # iterations the resumed run does before it is stopped too
CURRICULUM = ('iou_floor', 'shift', 'log_scale')
QUEUE_BUFFERS = [f'{q}.{b}' for q in ('image_queue', 'roi_queue')
                 for b in ('features', 'ptr')]


def _probe_config(tmp_path, signal_at=None):
    """The demo config with the probe hook (tests/test_tools/ccop_probe_hook.py)
    and, with ``signal_at``, SIGINT at the end of that iteration."""
    return config_with_hooks(tmp_path, CONFIG, signal_at,
                             default_hooks=dict(probe=dict(type='CCOPProbe')),
                             imports=['tests.test_tools.ccop_probe_hook'])


def _options(epochs):
    """Tiny settings; one checkpoint, at the end."""
    return [*SOCO_TINY_OPTIONS, *soco_schedule_options(epochs),
            f'default_hooks.checkpoint.interval={epochs}', 'view_size=96',
            f'queue_size={QUEUE}']


def _train(config, work, env, *flags):
    """The full run's settings, a short run that learns (the interrupted run
    stops early)."""
    return run_train(config, work, short_run_options('CCOP', EPOCHS), flags, env,
                     timeout=600)


def _load(path):
    import torch
    return torch.load(path, weights_only=False, map_location='cpu')


@pytest.fixture(scope='module')
def full_run(tiny_demo_root, tiny_ccop_proposals, repo_root, tmp_path_factory):
    """The demo config for EPOCHS epochs, uninterrupted: its work dir."""
    tmp = tmp_path_factory.mktemp('ccop_full')
    work = str(tmp / 'work')
    proc = _train(_probe_config(tmp), work, train_env(tiny_demo_root))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return work


def test_demo_loss_falls_logs_curriculum_and_checkpoints_queues(full_run):
    rows = logged_scalars(full_run)
    assert sorted(rows) == list(range(1, LAST + 1))
    # 90 iterations: the summed loss falls from its peak (measured: by 21 %)
    means = epoch_means([rows[i]['loss'] for i in sorted(rows)],
                        ITERATIONS_AN_EPOCH)
    assert fall_from_peak(means) > 0.1, means
    for row in rows.values():
        for name in ('loss_image', 'loss_object', 'loss_intra'):
            assert math.isfinite(row[name]), (name, row)
    # the curriculum moves with the iteration (logged before the step's update)
    assert rows[1]['iou_floor'] == pytest.approx(0.8)
    assert rows[LAST]['iou_floor'] == pytest.approx(0.8 - 0.4 * (LAST - 1) / LAST)
    assert rows[LAST]['shift'] == pytest.approx(0.15 + 0.45 * (LAST - 1) / LAST)
    assert rows[1]['momentum'] == pytest.approx(0.99)
    assert all(r['num_objects'] >= 4 for r in rows.values())
    # the queues are in the checkpoint, at the position the run left them
    state = _load(osp.join(full_run, f'epoch_{EPOCHS}.pth'))['state_dict']
    assert int(state['image_queue.ptr']) == (LAST * 4) % SHORT_QUEUE
    objects = sum(int(r['num_objects']) for r in rows.values())
    assert int(state['roi_queue.ptr']) == objects % SHORT_QUEUE
    # one process: the key branch is not shuffled
    with open(osp.join(full_run, 'probe_rank0.json')) as f:
        probe = json.load(f)
    assert probe['shuffles'] == [] and probe['shuffle_error'] is None


def test_interrupt_then_resume_keeps_queues_and_curriculum(
        full_run, tiny_demo_root, repo_root, tmp_path):
    import torch
    env = train_env(tiny_demo_root)
    cut = str(tmp_path / 'cut')
    proc = _train(_probe_config(tmp_path, signal_at=CUT), cut, env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 130, out[-3000:]
    ckpt = osp.join(cut, f'interrupted_iter_{CUT}.pth')
    assert f'SIGINT received: stopped after iteration {CUT}' in out
    saved = _load(ckpt)['state_dict']
    assert int(saved['image_queue.ptr']) == CUT * 4 % SHORT_QUEUE

    proc = _train(_probe_config(tmp_path, signal_at=CUT + RESUMED), cut, env,
                  '--resume')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 130, out[-3000:]
    assert f'Load checkpoint from {ckpt}' in out
    # the queues the resumed run starts from are the interrupted run's, exactly
    start = _load(osp.join(cut, 'queues_at_start_rank0.pth'))
    for name in QUEUE_BUFFERS:
        assert torch.equal(start[name], saved[name]), name
    assert saved['roi_queue.features'].abs().sum() > 0
    # the resumed iterations continue the curriculum and the lr of the full run
    full, resumed = logged_scalars(full_run), logged_scalars(cut)
    end = CUT + RESUMED
    assert sorted(resumed) == list(range(1, end + 1))  # none repeated or lost
    for it in range(CUT + 1, end + 1):
        for name in CURRICULUM + ('lr', 'momentum'):
            assert resumed[it][name] == pytest.approx(full[it][name], rel=1e-9), \
                (it, name)
    assert resumed[end]['iou_floor'] < resumed[CUT + 1]['iou_floor'] < 0.8


def test_two_process_gloo_from_a_coco_json_shuffles_keys_and_queues_both_ranks(
        tiny_demo_root, tiny_ccop_proposals, repo_root, tmp_path):
    # the image list of a COCO json whose annotations are not json: the run
    # works only if they are never decoded (the COCO config's mode)
    from tests.test_datasets.test_coco_image_list import POISON, coco_text
    with open(osp.join(tiny_demo_root, 'annotations', 'instances_train.json')) as f:
        images = json.load(f)['images']
    image_list = tmp_path / 'instances_train_poisoned.json'
    image_list.write_text(coco_text(images=images, annotations=POISON))
    work = str(tmp_path / 'dist')
    epochs = 3  # 12 images over 2 processes x 4 = 1 iteration an epoch
    proc = run_dist_train(
        _probe_config(tmp_path), work,
        [*_options(epochs), f'train_dataloader.dataset.ann_file={image_list}'],
        train_env(tiny_demo_root, threads=1), timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'initialised a gloo process group (rank 1 of 2)' in out
    assert sorted(logged_scalars(work)) == list(range(1, epochs + 1))
    probes = []
    for rank in (0, 1):
        with open(osp.join(work, f'probe_rank{rank}.json')) as f:
            probes.append(json.load(f))
    # shuffle-BN ran each iteration on each rank: together the ranks encoded
    # every key image once, and some crossed to the other rank
    assert [len(p['shuffles']) for p in probes] == [epochs, epochs]
    # the boxes travel with their images and come back in order: with BN's
    # running statistics (eval), the shuffled key branch equals the local one
    assert all(p['shuffle_error'] < 1e-4 for p in probes), probes
    for it in range(epochs):
        encoded = [p['shuffles'][it] for p in probes]
        assert sorted(encoded[0] + encoded[1]) == list(range(8)), encoded
    assert any(set(p['shuffles'][it]) != set(range(4 * r, 4 * r + 4))
               for r, p in enumerate(probes) for it in range(epochs))
    # the queues advanced by both ranks' keys
    state = _load(osp.join(work, f'epoch_{epochs}.pth'))['state_dict']
    assert int(state['image_queue.ptr']) == epochs * 2 * 4 % QUEUE
    objects = sum(sum(p['num_objects']) for p in probes)
    assert objects > sum(probes[0]['num_objects'])
    assert int(state['roi_queue.ptr']) == objects % QUEUE
