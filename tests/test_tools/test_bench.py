"""objcon-bench: the smoke preset end to end (every row: pretrain -> convert ->
fine-tune -> CocoMetric), the preset overrides and the report."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from objcon.benchmark.bench import (METHODS, PRESETS, PROTOCOLS, TRACKS,
                                    finetune_options, pretrain_options)
from objcon.benchmark.report import markdown_table, summarize


@pytest.mark.slow
def test_smoke_preset_every_row_and_protocol_has_a_finite_ap(tmp_path, repo_root):
    work = tmp_path / 'bench'
    # two rows at a time: each row is mostly tool start-up on one core
    cmd = [sys.executable, 'tools/bench.py', '--preset', 'smoke',
           '--work-dir', str(work), '--jobs', '2']
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True,
                          timeout=1500)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    every = PRESETS['smoke'].every_protocol_rows
    # the default track's rows (the Deformable DETR track has its own test)
    rows = {n: METHODS[n] for n in TRACKS['mask-rcnn'].methods}
    for name in rows:
        with open(work / 'records' / f'{name}_seed0.json') as f:
            rec = json.load(f)
        assert set(rec['protocols']) == (set(PROTOCOLS) if name in every
                                         else {'labels-100'}), name
        for protocol in rec['protocols'].values():
            for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP'):
                assert math.isfinite(protocol['metrics'][key]), (name, protocol)
            assert protocol['finetune_s'] > 0
        assert rec['jobs'] == 2
        assert (rec['pretrain_s'] > 0) == (name != 'scratch')
        # training checkpoints are removed once the row is recorded
        kept = [p.name for p in (work / f'{name}_seed0').rglob('*.pth')]
        assert kept == ([] if name == 'scratch' else ['converted.pth'])
        # the rows that read a proposal cache wait for its selective search
        assert (rec['proposals_s'] > 0) == (METHODS[name].proposals is not None)
    table = (work / 'bench.md').read_text()
    assert 'rows ran 2 at a time' in table
    for protocol in PROTOCOLS.values():
        section = table.split(f'### {protocol.label}')[1].split('###')[0]
        for name, m in rows.items():
            runs = name in every or protocol.name == 'labels-100'
            assert (f'| {m.label} | 1 |' in section) == runs, (protocol, name)
    assert '| heat map, ' in table and '| grid boxes' in table
    png = (work / 'bench.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10_000
    csv_lines = (work / 'bench.csv').read_text().splitlines()
    assert len(csv_lines) == 1 + len(rows) + len(every) * (len(PROTOCOLS) - 1)

    # the self-supervised rows pretrained on the pool folder (images, no label
    # file) and their configs name no label file; only the supervised row's does
    from mmengine.config import Config
    pool = work / 'pool'
    assert not [p for p in pool.rglob('*.json')]
    scenes = work / 'scenes'
    for name, method in rows.items():
        if method.config is None:
            continue
        dumped = Config.fromfile(str(work / f'{name}_seed0' / 'pretrain' /
                                     osp.basename(method.config)))
        if method.reads_labels:
            assert dumped.train_dataloader.dataset.ann_file == \
                'annotations/instances_train.json'
            continue
        assert dumped.train_dataloader.dataset.data_root == f'{pool}/', name
        text = dumped.pretty_text
        assert 'annotations' not in text and str(scenes) not in text, name
    dumped = (work / 'soco_seed0' / 'pretrain' / 'soco_r18_fpn_demo.py').read_text()
    assert str(work / 'proposals' / 'train_soco') in dumped
    # the fine-tuning of each protocol read its label subset; the frozen one
    # froze the FPN of a row that pretrains it, and only the backbone of one
    # that does not
    def finetuned(name, protocol):
        return Config.fromfile(str(work / f'{name}_seed0' / protocol /
                                   'mask-rcnn_r18_fpn_demo.py'))
    for name, frozen in (('soco', ['backbone', 'neck']), ('scratch', ['backbone'])):
        cfg = finetuned(name, 'frozen')
        assert cfg.frozen_modules == frozen, name
        assert cfg.train_ann_file.endswith('instances_labeled_4.json')
    cfg = finetuned('soco', 'labels-10')
    assert cfg.train_ann_file.endswith('instances_labeled_1.json')
    assert cfg.frozen_modules == []

    # a rerun finds every row done
    proc = subprocess.run(cmd + ['--dry-run'], cwd=repo_root, capture_output=True,
                          text=True, timeout=300)
    assert '0 row(s) to run' in proc.stdout, proc.stdout + proc.stderr


def _small_bench(tmp_path, pool=20, val=4):
    """A bench on tiny generated scenes whose pool and label folders are
    made (no training)."""
    from dataclasses import replace

    from objcon.benchmark.bench import Bench
    from objcon.datasets import generate_demo_scenes
    preset = replace(PRESETS['smoke'], pool=pool, labeled=2, val=val,
                     image_size=32)
    data = tmp_path / 'scenes'
    generate_demo_scenes(str(data), dict(train=pool, val=val), image_size=(32, 32))
    bench = Bench(preset, str(tmp_path / 'work'), str(data), ['scratch'], [0])
    bench.ensure_data(lambda msg: None)
    return bench


def test_pool_and_labels_are_disjoint_from_val(tmp_path):
    """The label subsets are nested draws from the pool, no pool image is a val
    image, and the pool folder holds no label file; each broken in turn is
    refused."""
    import shutil
    bench = _small_bench(tmp_path)
    bench.prepare_splits()
    sets = {}
    for key, protocol in PROTOCOLS.items():
        with open(bench.label_file(protocol)) as f:
            coco = json.load(f)
        sets[key] = {i['file_name'] for i in coco['images']}
        ids = {i['id'] for i in coco['images']}
        assert coco['annotations'] and all(a['image_id'] in ids
                                           for a in coco['annotations'])
    assert len(sets['labels-10']) == 1 and len(sets['labels-100']) == 2
    assert sets['labels-10'] < sets['labels-100'] == sets['frozen']
    pool = bench.pool_root + '/train'
    assert sets['labels-100'] <= set(os.listdir(pool))
    val_dir = tmp_path / 'scenes' / 'val'
    pool_bytes = {open(osp.join(pool, n), 'rb').read() for n in os.listdir(pool)}
    assert not pool_bytes & {p.read_bytes() for p in val_dir.iterdir()}

    # a val image copied into the pool under another name
    leak = osp.join(pool, 'leak.jpg')
    shutil.copy(val_dir / sorted(os.listdir(val_dir))[0], leak)
    with pytest.raises(ValueError, match='also val images'):
        bench.check_splits()
    os.remove(leak)
    bench.check_splits()
    # a label file in reach of the self-supervised rows
    with open(osp.join(pool, 'instances.json'), 'w') as f:
        f.write('{}')
    with pytest.raises(ValueError, match='label files'):
        bench.check_splits()
    os.remove(osp.join(pool, 'instances.json'))
    # a label subset naming an image outside the pool
    path = bench.label_file(PROTOCOLS['labels-10'])
    with open(path) as f:
        coco = json.load(f)
    coco['images'][0]['file_name'] = 'elsewhere.jpg'
    with open(path, 'w') as f:
        json.dump(coco, f)
    with pytest.raises(ValueError, match='outside the pool'):
        bench.check_splits()


def test_scenes_of_another_size_are_refused(tmp_path):
    from dataclasses import replace

    from objcon.benchmark.bench import Bench
    bench = _small_bench(tmp_path)
    other = Bench(replace(bench.preset, pool=30), str(tmp_path / 'w2'), bench.data,
                  ['scratch'], [0])
    with pytest.raises(ValueError, match='wants 30'):
        other.ensure_data(lambda msg: None)


def test_a_pool_smaller_than_ten_times_the_labels_is_refused(tmp_path):
    from dataclasses import replace

    from objcon.benchmark.bench import Bench
    with pytest.raises(ValueError, match='at least 10x'):
        Bench(replace(PRESETS['smoke'], pool=39, labeled=4), str(tmp_path / 'w'),
              str(tmp_path / 'd'), ['scratch'], [0])


def _load_with_options(path, options):
    """Load a config with ``key=value`` strings as tools/train.py does."""
    from mmengine.config import DictAction

    from objcon.utils import load_config
    parsed = {}
    for opt in options:
        key, value = opt.split('=', 1)
        parsed[key] = DictAction._parse_iterable(value)
    return load_config(path, parsed)


def _find(node, kind, get):
    """``get(t)`` of every transform of type ``kind`` in a pipeline."""
    if isinstance(node, dict):
        found = get(node) if node.get('type') == kind else []
        return found + [s for v in node.values() for s in _find(v, kind, get)]
    if isinstance(node, (list, tuple)):
        return [s for v in node for s in _find(v, kind, get)]
    return []


def _view_sizes(node):
    """Every view size in a pipeline: ObjectViews' views, RandomResizedCrops,
    the target crops of DETReg / UP-DETR (ObjectCrops)."""
    return (_find(node, 'RandomResizedCrop', lambda t: [t['scale']]) +
            _find(node, 'ObjectViews', lambda t: [v['size'] for v in t['views']]) +
            _find(node, 'ObjectCrops', lambda t: [t['size']]))


@pytest.mark.parametrize('name', [n for n, m in METHODS.items()
                                  if m.config and not m.reads_labels])
def test_preset_view_sizes_reach_the_view_transforms(name, repo_root):
    """The preset's view sizes are named variables of each method's config:
    they land on its crop transforms, not on a new key next to them."""
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    # 72 px views differ from every demo config's own
    from dataclasses import replace
    method, preset = METHODS[name], replace(PRESETS['smoke'], view_size=72)
    path = osp.join(repo_root, method.config)
    before = _load_with_options(path, [])
    cfg = _load_with_options(path, pretrain_options(method, preset))
    assert method.views
    v = preset.view_size
    expected = {round(v * rel) for rel in method.views.values()}
    for key, rel in method.views.items():
        assert key in before, f'{key} is not a variable of {method.config}'
        assert cfg[key] == round(v * rel)
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert set(_view_sizes(pipeline)) == expected
    assert set(_view_sizes(before.train_dataloader.dataset.pipeline)) != expected
    if method.heatmap_warmup:
        assert cfg.model.proposal_generator.warmup_iters == round(
            0.25 * preset.pretrain_epochs * (preset.pool // 16))
    assert cfg.train_dataloader.batch_size == preset.pretrain_batch
    # the detector pretrainers' image scales follow the preset's image size
    def scales(c):
        return [tuple(s) for t in _find(c.train_dataloader.dataset.pipeline,
                                        'mmdet.RandomChoiceResize',
                                        lambda t: [t['scales']]) for s in t]
    if method.image_scales:
        s = preset.image_size
        assert scales(cfg) == [(round(s * r), 1333) for r in method.image_scales]
        assert scales(before) != scales(cfg)
    else:
        assert not scales(cfg)


def test_detr_track_finetune_options_reach_its_config(tmp_path, repo_root):
    """The Deformable DETR track's preset sizes and label file land on its
    fine-tuning config's resizes and train dataset."""
    track = TRACKS['deformable-detr']
    preset = track.preset(PRESETS['gpu'])
    labels = str(tmp_path / 'labels.json')
    path = osp.join(repo_root, track.finetune_config)
    assert _load_with_options(path, []).train_dataloader.dataset.ann_file != labels
    cfg = _load_with_options(path, finetune_options(
        preset, METHODS['detreg'], PROTOCOLS['labels-10'], labels))
    resizes = [t for t in cfg.train_dataloader.dataset.pipeline +
               cfg.test_dataloader.dataset.pipeline if t.type == 'Resize']
    assert [tuple(t.scale) for t in resizes] == [(192, 192)] * 2
    assert cfg.train_dataloader.dataset.ann_file == labels
    # the track's presets pass no Mask R-CNN options
    assert all(not track.preset(p).finetune_extra for p in PRESETS.values())


def test_a_track_refuses_rows_and_protocols_it_does_not_support(tmp_path):
    """Deformable DETR's config has no frozen modules: its rows refuse the
    frozen protocol, and a track refuses another track's rows; both with the
    reason, before any work."""
    from objcon.benchmark.bench import Bench
    work, data = str(tmp_path / 'w'), str(tmp_path / 'd')
    smoke = PRESETS['smoke']
    with pytest.raises(ValueError, match=r"does not support protocol\(s\) "
                       r"\['frozen'\].*deformable-detr_r18_demo.py supports "
                       r"\['labels-10', 'labels-100'\]"):
        Bench(smoke, work, data, ['detreg'], [0], protocols=['frozen'],
              track='deformable-detr')
    with pytest.raises(ValueError, match=r"\['soco'\] fine-tune another "
                       r"detector.*--track mask-rcnn"):
        Bench(smoke, work, data, ['detr-scratch', 'soco'], [0],
              track='deformable-detr')
    with pytest.raises(ValueError, match=r"\['detreg'\].*--track deformable-detr"):
        Bench(smoke, work, data, ['detreg'], [0])
    with pytest.raises(ValueError, match='unknown track'):
        Bench(smoke, work, data, ['scratch'], [0], track='yolo')
    # without protocols: all of the track's
    bench = Bench(smoke, work, data, TRACKS['deformable-detr'].methods, [0],
                  track='deformable-detr')
    assert list(bench.protocols) == ['labels-10', 'labels-100']
    assert not (tmp_path / 'w').exists()


def test_a_work_dir_keeps_to_its_track(tmp_path):
    """settings.json binds a work dir to its track; one written before tracks
    is the Mask R-CNN track's."""
    from objcon.benchmark.bench import Bench
    smoke, work, data = PRESETS['smoke'], tmp_path / 'w', str(tmp_path / 'd')
    Bench(smoke, str(work), data, ['scratch'], [0],
          protocols=['labels-100']).check_settings()
    with pytest.raises(ValueError, match='track'):
        Bench(smoke, str(work), data, ['detr-scratch'], [0],
              protocols=['labels-100'], track='deformable-detr').check_settings()
    settings = json.loads((work / 'settings.json').read_text())
    del settings['track']
    (work / 'settings.json').write_text(json.dumps(settings))
    Bench(smoke, str(work), data, ['byol'], [0],
          protocols=['labels-100']).check_settings()


def test_finetune_options_reach_the_detector_config(tmp_path, repo_root):
    """Resize, label file and frozen modules are named variables of the
    fine-tuning config; the supervised row trains it at the views' size."""
    preset, path = PRESETS['gpu'], osp.join(
        repo_root, 'configs/benchmarks/mask-rcnn_r18_fpn_demo.py')
    labels = str(tmp_path / 'labels.json')
    cfg = _load_with_options(path, finetune_options(
        preset, METHODS['soco'], PROTOCOLS['frozen'], labels))
    resizes = [t for t in cfg.train_dataloader.dataset.pipeline +
               cfg.test_dataloader.dataset.pipeline if t.type == 'Resize']
    assert len(resizes) == 2
    assert all(tuple(t.scale) == (192, 192) for t in resizes)
    assert cfg.train_dataloader.dataset.ann_file == labels
    hooks = [h for h in cfg.custom_hooks if h.type.endswith('FreezeModulesHook')]
    assert [list(h.modules) for h in hooks] == [['backbone', 'neck']]
    cfg = _load_with_options(path, finetune_options(
        preset, METHODS['byol'], PROTOCOLS['labels-10'], labels))
    assert not [h for h in cfg.custom_hooks
                if h.type.endswith('FreezeModulesHook') and h.modules]
    cfg = _load_with_options(path, pretrain_options(METHODS['supervised'], preset))
    assert cfg.train_dataloader.batch_size == preset.pretrain_batch
    assert tuple(cfg.train_dataloader.dataset.pipeline[2].scale) == (96, 96)


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
    std 0.01; t(0.975, 2) = 4.302653, so the interval is 0.03 -+ (0.024841 +
    0.001, CocoMetric's rounding of a difference)."""
    from objcon.benchmark.report import ordering_statement, paired_difference
    records = [_ap_record('scratch', s, ap) for s, ap in enumerate((0.10, 0.20, 0.15))]
    records += [_ap_record('soco', s, ap) for s, ap in enumerate((0.12, 0.24, 0.18))]
    # seed 3 of soco has no scratch partner: not paired
    records.append(_ap_record('soco', 3, 0.9))
    d = paired_difference(records, 'soco', 'scratch')
    assert d['n'] == 3 and d['differences'] == pytest.approx([0.02, 0.04, 0.03])
    half = 4.302653 * 0.01 / math.sqrt(3) + 0.001
    assert d['mean'] == pytest.approx(0.03)
    assert (d['low'], d['high']) == pytest.approx((0.03 - half, 0.03 + half))
    # unpaired, the same numbers would give a far wider spread: pairing matters
    assert half < 0.03
    text = ordering_statement(records)
    assert 'SOCO is above SCRATCH: box AP +3.0 [+0.4, +5.6] x100 (3 seeds' in text
    table = markdown_table(summarize(records), records)
    assert '| SOCO | 4 |' in table and '+3.0 [+0.4, +5.6]' in table
    # an interval that contains 0 supports no ordering; one seed has no interval
    records[3]['metrics']['coco/bbox_mAP'] = 0.05
    assert ordering_statement(records).startswith('No ordering is supported')
    one = paired_difference(records[:1] + records[3:4], 'soco', 'scratch')
    assert one['n'] == 1 and math.isnan(one['low'])
    assert paired_difference(records, 'soco', 'byol') is None


def test_equal_rounded_differences_are_no_ordering():
    """Every seed one CocoMetric step (0.001) above: the spread is 0, but so
    small a difference of rounded APs may be rounding alone."""
    from objcon.benchmark.report import ordering_statement, paired_difference
    records = [_ap_record('scratch', s, ap) for s, ap in enumerate((0.004, 0.006, 0.005))]
    records += [_ap_record('byol', s, ap) for s, ap in enumerate((0.005, 0.007, 0.006))]
    d = paired_difference(records, 'byol', 'scratch')
    assert (d['low'], d['mean'], d['high']) == pytest.approx((0., 0.001, 0.002))
    assert ordering_statement(records).startswith('No ordering is supported')
    # two steps in every seed are more than rounding
    for r in records[3:]:
        r['metrics']['coco/bbox_mAP'] += 0.001
    assert 'BYOL is above SCRATCH' in ordering_statement(records)


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
    assert two.job_env(1, '/pool')['OBJCON_DEMO_ROOT'] == '/pool'
    one = Bench(smoke, work, data, ['scratch'], [0])
    assert one.job_env(0) is one.env
    with pytest.raises(ValueError, match='jobs must be >= 1'):
        Bench(smoke, work, data, ['scratch'], [0], jobs=0)
    with pytest.raises(ValueError, match='gpus == 1'):
        Bench(smoke, work, data, ['scratch'], [0], jobs=2, gpus=2)
    # on a GPU machine a job is pinned to one of the visible GPUs, round robin
    monkeypatch.setattr(bench_module, '_visible_gpus', lambda: ['3', '5'])
    pinned = Bench(smoke, work, data, ['scratch'], [0], jobs=4)
    assert [pinned.job_env(s)['CUDA_VISIBLE_DEVICES'] for s in range(4)] == \
        ['3', '5', '3', '5']
    assert pinned.job_env(3)['OMP_NUM_THREADS'] == '2'


def test_a_failing_concurrent_row_stops_the_bench(tmp_path, monkeypatch):
    """The first failure is raised; rows not yet started never start."""
    from objcon.benchmark.bench import Bench
    from objcon.benchmark.pipeline import StepFailed
    bench = Bench(PRESETS['smoke'], str(tmp_path / 'w'), str(tmp_path / 'd'),
                  ['scratch', 'byol', 'mocov2', 'soco'], [0], jobs=2)
    started = []

    def run_row(name, seed, proposal_seconds, log, slot=0):
        started.append(name)
        if name == 'scratch':
            raise StepFailed('exit 1: scratch')
        import time
        time.sleep(0.2)
        return dict(method=name, seed=seed, protocols={})

    monkeypatch.setattr(bench, 'run_row', run_row)
    monkeypatch.setattr(bench, 'ensure_data', lambda log: 0.)
    monkeypatch.setattr(bench, 'ensure_proposals', lambda source, log: 0.)
    monkeypatch.setattr(bench, 'prepare_splits', lambda: None)
    with pytest.raises(StepFailed, match='scratch'):
        bench.run(log=lambda msg: None)
    assert 'soco' not in started and len(started) <= 3


def test_the_frozen_target_is_pretrained_once_a_seed_under_concurrency(
        tmp_path, monkeypatch):
    """Two rows of a seed start together and both need BYOL as their target:
    it is pretrained once per seed, kept in the work dir after the rows,
    given to both as target_checkpoint, and its one time is in both records.
    """
    import threading
    import time

    from objcon.benchmark import bench as bench_module
    from objcon.benchmark.bench import Bench
    bench = Bench(PRESETS['smoke'], str(tmp_path / 'w'), str(tmp_path / 'd'),
                  ['detreg', 'updetr'], [0, 1], jobs=2, track='deformable-detr')
    calls, lock = [], threading.Lock()

    def pretrain(config, work_dir, epochs, env, seed=0, gpus=1, options=(),
                 log_file=None):
        with lock:
            calls.append((osp.basename(config), seed, list(options)))
        time.sleep(0.3)  # long enough for the other row to ask for the target
        os.makedirs(work_dir, exist_ok=True)
        ckpt = osp.join(work_dir, 'epoch_1.pth')
        with open(ckpt, 'w') as f:
            f.write(config)
        return ckpt, 10. + seed

    monkeypatch.setattr(bench_module, 'pretrain', pretrain)
    monkeypatch.setattr(bench_module, 'convert', lambda *a, **k: 1.)
    monkeypatch.setattr(bench_module, 'finetune', lambda *a, **k: (
        None, 2., {'coco/bbox_mAP': 0.1}))
    monkeypatch.setattr(bench, 'ensure_data', lambda log: 0.)
    monkeypatch.setattr(bench, 'ensure_proposals', lambda source, log: 5.)
    monkeypatch.setattr(bench, 'prepare_splits', lambda: None)
    records = bench.run(log=lambda msg: None)
    byol = [c for c in calls if c[0] == 'byol_r18_demo.py']
    assert sorted(seed for _, seed, _ in byol) == [0, 1]
    assert len(calls) == 6
    for seed in (0, 1):
        target = osp.join(bench.target_dir('byol', seed), 'byol.pth')
        assert open(target).read().endswith('byol_r18_demo.py')
        given = [o for name, s, opts in calls
                 if s == seed and name != 'byol_r18_demo.py'
                 for o in opts if o.startswith('target_checkpoint=')]
        assert given == [f'target_checkpoint={target}'] * 2
        recs = [r for r in records if r['seed'] == seed]
        assert [r['target_s'] for r in recs] == [10. + seed] * 2
        assert all(r['target'] == 'byol' and r['track'] == 'deformable-detr'
                   for r in recs)
    # a resumed bench reuses the targets without pretraining them again
    for path in os.listdir(osp.join(bench.work_dir, 'records')):
        os.remove(osp.join(bench.work_dir, 'records', path))
    calls.clear()
    bench.run(log=lambda msg: None)
    assert len(calls) == 4 and not [c for c in calls if c[0] == 'byol_r18_demo.py']


def test_rows_compare_with_their_own_tracks_scratch(tmp_path):
    """A Deformable DETR report pairs each row with the DETR scratch, never
    with the Mask R-CNN scratch or BYOL; its table has box metrics only and
    the shared target's time once a row."""
    from objcon.benchmark.report import write_report

    def record(method, seed, ap, **extra):
        return dict(method=method, label=method.upper(), kind='image', seed=seed,
                    pretrain_s=60., convert_s=0., proposals_s=0., **extra,
                    protocols={'labels-100': dict(finetune_s=60., metrics={
                        'coco/bbox_mAP': ap, 'coco/bbox_mAP_50': ap,
                        'coco/bbox_mAP_75': ap})})
    records = []
    for seed, (detr, scratch, detreg) in enumerate(
            ((0.10, 0.50, 0.12), (0.20, 0.60, 0.24), (0.15, 0.55, 0.18))):
        # a Mask R-CNN scratch and BYOL among them must not be the references
        records += [record('detr-scratch', seed, detr),
                    record('scratch', seed, scratch), record('byol', seed, 0.9),
                    record('detreg', seed, detreg, target='byol', target_s=120.)]
    paths = write_report(records, str(tmp_path), PRESETS['smoke'],
                         track=TRACKS['deformable-detr'])
    text = open(paths['md']).read()
    head = [line for line in text.splitlines() if line.startswith('| method')][0]
    assert head == ('| method | seeds | APbb | APbb50 | APbb75 | APbb - DETR-SCRATCH '
                    '[95 % CI] | pretrain min | fine-tune min | proposal precompute '
                    'min | frozen target min |')
    assert ('| DETREG | 3 | 18.0 ± 6.0 | 18.0 ± 6.0 | 18.0 ± 6.0 | '
            '+3.0 [+0.4, +5.6] | 1.0 | 1.0 | 0.0 | 2.0 |') in text
    assert 'DETREG is above DETR-SCRATCH' in text
    for other in ('SCRATCH', 'BYOL'):
        assert f'above {other}' not in text and f'below {other}' not in text
    assert 'Per seed (APbb x100): ' in text
    csv_lines = open(paths['csv']).read().splitlines()
    assert csv_lines[0].endswith('proposals_s,target_s,APbb,APbb50,APbb75')
    assert 'detreg,0,labels-100,60.0,0.0,60.0,0.0,120.0,0.1200,0.1200,0.1200' \
        in csv_lines[1:]


def test_a_detector_without_detections_scores_ap_0_and_is_named(tmp_path):
    """CocoMetric returns no metric when no detection passes the threshold (a
    frozen random backbone after a short run): the row scores 0, not nan, and
    the report says which row and seed it was."""
    from objcon.benchmark.bench import protocol_records
    from objcon.benchmark.report import write_report

    def record(method, seed, metrics):
        return dict(method=method, label=method.upper(), kind='image', seed=seed,
                    pretrain_s=0., convert_s=0., proposals_s=0.,
                    protocols={'frozen': dict(metrics=metrics, finetune_s=1.)})
    ap = {'coco/bbox_mAP': 0.02, 'coco/bbox_mAP_50': 0.05, 'coco/segm_mAP': 0.01}
    records = [record('scratch', 0, {}), record('byol', 0, ap)]
    flat = protocol_records(records, 'frozen')
    assert flat[0]['no_detections'] and flat[0]['metrics']['coco/bbox_mAP'] == 0.
    assert 'no_detections' not in flat[1] and flat[1]['metrics'] == ap
    assert protocol_records(records, 'labels-10') == []
    paths = write_report(records, str(tmp_path), PRESETS['smoke'])
    text = open(paths['md']).read()
    assert '| SCRATCH | 1 | 0.0 |' in text and 'nan' not in text
    assert 'No detection above the test threshold (AP 0): SCRATCH seed 0.' in text


@pytest.mark.slow
def test_smoke_preset_deformable_detr_track(tmp_path, repo_root):
    """The transformer-detector track end to end (scratch, DETReg, UP-DETR;
    64-px scenes, 2 fine-tuning iterations): the BYOL target pretrained once
    and given to both pretrainers, the preset's sizes in their configs, the
    conversions checked by loading, reports against the track's scratch."""
    from mmengine.config import Config

    track = TRACKS['deformable-detr']
    work = tmp_path / 'bench'
    cmd = [sys.executable, 'tools/bench.py', '--preset', 'smoke', '--track',
           track.name, '--work-dir', str(work), '--jobs', '2']
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    records = {}
    for name in track.methods:
        with open(work / 'records' / f'{name}_seed0.json') as f:
            records[name] = rec = json.load(f)
        assert rec['track'] == track.name and set(rec['protocols']) == {'labels-100'}
        metrics = rec['protocols']['labels-100']['metrics']
        for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75'):
            assert math.isfinite(metrics[key]), (name, metrics)
        kept = [p.name for p in (work / f'{name}_seed0').rglob('*.pth')]
        assert kept == ([] if name == 'detr-scratch' else ['converted.pth'])
    # one BYOL pretraining, kept, its one time in both rows that use it
    target = work / 'targets' / 'byol_seed0' / 'byol.pth'
    assert [p.name for p in (work / 'targets').rglob('*.pth')] == ['byol.pth']
    assert records['detreg']['target_s'] == records['updetr']['target_s'] > 0
    assert 'target_s' not in records['detr-scratch']
    assert records['detreg']['proposals_s'] > 0
    for name, config in (('detreg', 'detreg_deformable-detr_r18_demo.py'),
                         ('updetr', 'updetr_detr_r18_demo.py')):
        cfg = Config.fromfile(str(work / f'{name}_seed0' / 'pretrain' / config))
        assert cfg.target_checkpoint == str(target)
        assert cfg.crop_size == 32 and cfg.train_dataloader.batch_size == 16
        assert [tuple(s) for s in cfg.image_scales] == [(48, 1333), (56, 1333),
                                                        (64, 1333)]
        assert cfg.data_root == f'{work / "pool"}/'
        log = (work / f'{name}_seed0' / 'logs' / 'convert.log').read_text()
        assert '0 missing, 0 unexpected' in log
    assert 'head 136 tensors' in (work / 'detreg_seed0' / 'logs' /
                                  'convert.log').read_text()
    # both pretrainers keep their backbone frozen at the target's weights:
    # UP-DETR transfers exactly BYOL's backbone
    state = torch.load(work / 'updetr_seed0' / 'converted.pth', weights_only=False)
    state = state.get('state_dict', state)
    given = torch.load(target, weights_only=False)['state_dict']
    keys = [k for k in state if k.startswith('backbone.')]
    assert len(keys) == 120 and all(torch.equal(state[k], given[k]) for k in keys)
    cfg = Config.fromfile(str(work / 'detreg_seed0' / 'labels-100' /
                              'deformable-detr_r18_demo.py'))
    assert cfg.train_ann_file.endswith('instances_labeled_4.json')
    assert tuple(cfg.image_size) == (64, 64)
    table = (work / 'bench.md').read_text()
    assert '| APbb - Deformable DETR from scratch [95 % CI] |' in table
    assert 'BYOL (mmpretrain) [95 %' not in table and 'APmk' not in table
    assert '| frozen target min |' in table
    assert (work / 'bench.png').read_bytes()[:4] == b'\x89PNG'
