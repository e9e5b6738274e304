"""objcon-bench: the smoke preset end to end (every row: pretrain -> convert ->
fine-tune -> CocoMetric), the preset overrides and the report."""
import json
import math
import os.path as osp
import subprocess
import sys

import pytest

from objcon.benchmark.bench import (METHODS, PRESETS, finetune_options,
                                    pretrain_options)
from objcon.benchmark.report import markdown_table, summarize


@pytest.mark.slow
def test_smoke_preset_every_row_has_a_finite_ap(tmp_path, repo_root):
    work = tmp_path / 'bench'
    # two rows at a time: each row is mostly tool start-up on one core
    cmd = [sys.executable, 'tools/bench.py', '--preset', 'smoke',
           '--work-dir', str(work), '--jobs', '2']
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    for name in METHODS:
        with open(work / 'records' / f'{name}_seed0.json') as f:
            rec = json.load(f)
        for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP'):
            assert math.isfinite(rec['metrics'][key]), (name, rec['metrics'])
        assert rec['finetune_s'] > 0 and rec['jobs'] == 2
        assert (rec['pretrain_s'] > 0) == (name != 'scratch')
        # training checkpoints are removed once the row is recorded
        kept = [p.name for p in (work / f'{name}_seed0').rglob('*.pth')]
        assert kept == ([] if name == 'scratch' else ['converted.pth'])
    # the rows that read a proposal cache wait for its selective search, each
    # its own preset
    for name in METHODS:
        with open(work / 'records' / f'{name}_seed0.json') as f:
            waited = json.load(f)['proposals_s']
        assert (waited > 0) == (METHODS[name].proposals is not None), name
    table = (work / 'bench.md').read_text()
    assert 'rows ran 2 at a time' in table
    for m in METHODS.values():
        assert f'| {m.label} | 1 |' in table
    png = (work / 'bench.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10_000
    # the SoCo pretraining ran with the bench's proposal cache
    dumped = (work / 'soco_seed0' / 'pretrain' / 'soco_r18_fpn_demo.py').read_text()
    assert str(work / 'proposals' / 'train_soco') in dumped
    dumped = (work / 'ccop_seed0' / 'pretrain' / 'ccop_r18_fpn_demo.py').read_text()
    assert str(work / 'proposals' / 'train_ccop') in dumped

    # a rerun finds every row done
    proc = subprocess.run(cmd + ['--dry-run'], cwd=repo_root, capture_output=True,
                          text=True, timeout=300)
    assert '0 row(s) to run' in proc.stdout, proc.stdout + proc.stderr


def _load_with_options(path, options):
    """Load a config with ``key=value`` strings as tools/train.py does."""
    from mmengine.config import DictAction

    from objcon.utils import load_config
    parsed = {}
    for opt in options:
        key, value = opt.split('=', 1)
        parsed[key] = DictAction._parse_iterable(value)
    return load_config(path, parsed)


def _view_sizes(node):
    """Every view size in a pipeline: ObjectViews' views, RandomResizedCrops."""
    if isinstance(node, dict):
        found = []
        if node.get('type') == 'RandomResizedCrop':
            found.append(node['scale'])
        if node.get('type') == 'ObjectViews':
            found += [v['size'] for v in node['views']]
        return found + [s for v in node.values() for s in _view_sizes(v)]
    if isinstance(node, (list, tuple)):
        return [s for v in node for s in _view_sizes(v)]
    return []


@pytest.mark.parametrize('name', [n for n, m in METHODS.items() if m.config])
def test_gpu_preset_overrides_reach_the_view_transforms(name, repo_root):
    """The preset's view sizes are named variables of each method's config:
    they land on its crop transforms, not on a new key next to them."""
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    method, preset = METHODS[name], PRESETS['gpu']
    path = osp.join(repo_root, method.config)
    before = _load_with_options(path, [])
    cfg = _load_with_options(path, pretrain_options(method, preset))
    assert method.views
    expected = {round(224 * rel) for rel in method.views.values()}
    for key, rel in method.views.items():
        assert key in before, f'{key} is not a variable of {method.config}'
        assert cfg[key] == round(224 * rel)
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert set(_view_sizes(pipeline)) == expected
    assert set(_view_sizes(before.train_dataloader.dataset.pipeline)) != expected
    if method.heatmap_warmup:
        assert cfg.model.proposal_generator.warmup_iters == round(
            0.25 * preset.pretrain_epochs * (4000 // 16))
    assert cfg.train_dataloader.batch_size == preset.pretrain_batch


def test_finetune_options_resize_train_and_test(repo_root):
    cfg = _load_with_options(
        osp.join(repo_root, 'configs/benchmarks/mask-rcnn_r18_fpn_demo.py'),
        finetune_options(PRESETS['gpu']))
    resizes = [t for t in cfg.train_dataloader.dataset.pipeline +
               cfg.test_dataloader.dataset.pipeline if t.type == 'Resize']
    assert len(resizes) == 2
    assert all(tuple(t.scale) == (512, 512) for t in resizes)


def test_summary_mean_and_sample_std():
    def rec(method, seed, ap, mk, pre):
        return dict(method=method, label=method.upper(), kind='image', seed=seed,
                    pretrain_s=pre, finetune_s=60., proposals_s=0.,
                    metrics={'coco/bbox_mAP': ap, 'coco/bbox_mAP_50': 2 * ap,
                             'coco/segm_mAP': mk})
    rows = summarize([rec('a', 0, 0.10, 0.05, 120.), rec('a', 1, 0.14, 0.07, 180.),
                      rec('b', 0, 0.02, 0.01, 0.)])
    a, b = rows
    mean, std, vals = a['APbb']
    assert mean == pytest.approx(0.12) and vals == [0.10, 0.14]
    assert std == pytest.approx(0.04 / math.sqrt(2))
    assert a['pretrain min'][0] == pytest.approx(2.5)
    assert b['APbb'][1] == 0.  # one seed: no spread
    table = markdown_table(rows)
    assert '| A | 2 | 12.0 ± 2.8 | 24.0 ± 5.7 | 6.0 ± 1.4 | 2.5 | 1.0 | 0.0 |' in table
    assert '| B | 1 | 2.0 | 4.0 | 1.0 | 0.0 | 1.0 | 0.0 |' in table


def _ap_record(method, seed, ap):
    return dict(method=method, label=method.upper(), kind='image', seed=seed,
                pretrain_s=0., finetune_s=60., proposals_s=0.,
                metrics={'coco/bbox_mAP': ap, 'coco/bbox_mAP_50': ap,
                         'coco/segm_mAP': ap})


def test_paired_difference_interval_on_hand_made_numbers():
    """Differences paired by seed: (0.02, 0.04, 0.03) has mean 0.03 and sample
    std 0.01; t(0.975, 2) = 4.302653, so the interval is 0.03 -+ 0.024841."""
    from objcon.benchmark.report import ordering_statement, paired_difference
    records = [_ap_record('scratch', s, ap) for s, ap in enumerate((0.10, 0.20, 0.15))]
    records += [_ap_record('soco', s, ap) for s, ap in enumerate((0.12, 0.24, 0.18))]
    # seed 3 of soco has no scratch partner: not paired
    records.append(_ap_record('soco', 3, 0.9))
    d = paired_difference(records, 'soco', 'scratch')
    assert d['n'] == 3 and d['differences'] == pytest.approx([0.02, 0.04, 0.03])
    half = 4.302653 * 0.01 / math.sqrt(3)
    assert d['mean'] == pytest.approx(0.03)
    assert (d['low'], d['high']) == pytest.approx((0.03 - half, 0.03 + half))
    # unpaired, the same numbers would give a far wider spread: pairing matters
    assert half < 0.03
    text = ordering_statement(records)
    assert 'SOCO is above SCRATCH: box AP +3.0 [+0.5, +5.5] x100 (3 seeds' in text
    table = markdown_table(summarize(records), records)
    assert '| SOCO | 4 |' in table and '+3.0 [+0.5, +5.5]' in table
    # an interval that contains 0 supports no ordering; one seed has no interval
    records[3]['metrics']['coco/bbox_mAP'] = 0.05
    assert ordering_statement(records).startswith('No ordering is supported')
    one = paired_difference(records[:1] + records[3:4], 'soco', 'scratch')
    assert one['n'] == 1 and math.isnan(one['low'])
    assert paired_difference(records, 'soco', 'byol') is None


@pytest.mark.slow  # starts tools/bench.py
def test_unknown_method_is_refused(repo_root):
    proc = subprocess.run([sys.executable, 'tools/bench.py', '--methods', 'swav',
                           '--dry-run'], cwd=repo_root, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and 'invalid choice' in proc.stderr


def test_a_work_dir_keeps_to_its_settings(tmp_path):
    """Rows recorded under one preset are never reused by a bench of other
    lengths: the second bench is refused, a dry run writes nothing."""
    from dataclasses import replace

    from objcon.benchmark.bench import Bench
    smoke = PRESETS['smoke']
    work, data = str(tmp_path / 'w'), str(tmp_path / 'd')
    Bench(smoke, work, data, ['scratch'], [0]).check_settings(write=False)
    assert not (tmp_path / 'w').exists()
    Bench(smoke, work, data, ['scratch'], [0]).check_settings()
    # same settings, other seeds and rows: fine
    Bench(smoke, work, data, ['soco'], [3]).check_settings()
    longer = replace(smoke, finetune_iters=smoke.finetune_iters + 1)
    with pytest.raises(ValueError, match='finetune_iters'):
        Bench(longer, work, data, ['scratch'], [0]).check_settings()
    with pytest.raises(ValueError, match='data'):
        Bench(smoke, work, str(tmp_path / 'other'), ['scratch'], [0]).check_settings()


def test_concurrent_rows_split_the_cores_and_check_their_arguments(
        tmp_path, monkeypatch):
    from objcon.benchmark import bench as bench_module
    from objcon.benchmark.bench import Bench
    smoke, work, data = PRESETS['smoke'], str(tmp_path / 'w'), str(tmp_path / 'd')
    monkeypatch.setattr(bench_module, '_visible_gpus', lambda: [])
    monkeypatch.setattr(bench_module.os, 'cpu_count', lambda: 8)
    two = Bench(smoke, work, data, ['scratch'], [0], jobs=2)
    assert two.job_env(0)['OMP_NUM_THREADS'] == two.job_env(1)['OMP_NUM_THREADS'] \
        == '4'
    one = Bench(smoke, work, data, ['scratch'], [0])
    assert one.job_env(0) is one.env
    with pytest.raises(ValueError, match='jobs must be >= 1'):
        Bench(smoke, work, data, ['scratch'], [0], jobs=0)
    with pytest.raises(ValueError, match='gpus == 1'):
        Bench(smoke, work, data, ['scratch'], [0], jobs=2, gpus=2)
    # on a GPU machine a job is pinned to one of the visible GPUs
    monkeypatch.setattr(bench_module, '_visible_gpus', lambda: ['3', '5'])
    pinned = Bench(smoke, work, data, ['scratch'], [0], jobs=2)
    assert [pinned.job_env(s)['CUDA_VISIBLE_DEVICES'] for s in (0, 1)] == ['3', '5']
    with pytest.raises(ValueError, match='visible GPUs'):
        Bench(smoke, work, data, ['scratch'], [0], jobs=3)


def test_a_failing_concurrent_row_stops_the_bench(tmp_path, monkeypatch):
    """The first failure is raised; rows not yet started never start."""
    from objcon.benchmark.bench import Bench
    from objcon.benchmark.pipeline import StepFailed
    bench = Bench(PRESETS['smoke'], str(tmp_path / 'w'), str(tmp_path / 'd'),
                  ['scratch', 'byol', 'mocov2', 'soco'], [0], jobs=2)
    started = []

    def run_row(name, seed, proposal_seconds, log, env=None):
        started.append(name)
        if name == 'scratch':
            raise StepFailed('exit 1: scratch')
        import time
        time.sleep(0.2)
        return dict(method=name, seed=seed, metrics={})

    monkeypatch.setattr(bench, 'run_row', run_row)
    monkeypatch.setattr(bench, 'ensure_data', lambda log: 0.)
    monkeypatch.setattr(bench, 'ensure_proposals', lambda source, log: 0.)
    with pytest.raises(StepFailed, match='scratch'):
        bench.run(log=lambda msg: None)
    assert 'soco' not in started and len(started) <= 3
