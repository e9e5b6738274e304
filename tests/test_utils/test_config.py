"""Named config variables: overridden where they are defined, derived values
follow; dotted keys merge as MMEngine's."""
import os.path as osp

import pytest

from objcon.utils import load_config


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_name_is_set_in_the_base_that_defines_it(tmp_path):
    _write(tmp_path, 'base.py', (
        "view_size = 224\n"
        "small = view_size // 2\n"
        "pipeline = [dict(type='Load'), dict(type='Views', sizes=[view_size, small])]\n"))
    child = _write(tmp_path, 'child.py', (
        "_base_ = ['./base.py']\n"
        "model = dict(side={{_base_.view_size}})\n"))
    cfg = load_config(child)
    assert cfg.pipeline[1]['sizes'] == [224, 112] and cfg.model.side == 224
    cfg = load_config(child, {'view_size': 96, 'model.depth': 18})
    assert cfg.view_size == 96
    assert cfg.pipeline[1]['sizes'] == [96, 48]  # derived in the base: follows
    assert cfg.model.side == 96  # read by the child from its base: follows
    assert cfg.model.depth == 18  # dotted: merged as usual


def test_unknown_names_become_keys_and_literals_are_required(tmp_path):
    path = _write(tmp_path, 'c.py', "a = 1\n")
    cfg = load_config(path, {'resume': True})
    assert cfg.resume is True and cfg.a == 1
    from objcon.errors import InputError
    with pytest.raises(InputError, match='literal'):
        load_config(path, {'a': object()})


def test_demo_config_names_reach_the_pipeline_and_the_cache(repo_root):
    path = osp.join(repo_root, 'configs/objcon/soco_r18_fpn_demo.py')
    cfg = load_config(path, {'view_size': 96, 'small_view_size': 48,
                             'proposal_cache': '/tmp/elsewhere'})
    transforms = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    assert [v['size'] for v in transforms['ObjectViews']['views']] == [96, 96, 48]
    assert transforms['LoadProposals']['cache'] == '/tmp/elsewhere'


def test_a_config_refuses_a_value_in_one_line(tmp_path):
    from objcon.errors import InputError
    path = _write(tmp_path, 'checked.py', (
        "size = 2\n"
        "if size not in (1, 2):\n"
        "    raise ValueError(f'size={size}: 1 or 2')\n"))
    assert load_config(path, {'size': 1}).size == 1
    with pytest.raises(InputError, match=r'checked.py: size=3: 1 or 2'):
        load_config(path, {'size': 3})


@pytest.mark.parametrize('percent,epochs,drops', [
    (1, 2000, []), (2, 150, [40, 80, 120]), (5, 500, []), (10, 150, [40, 80, 120])])
def test_detreg_semi_supervised_fraction_sets_split_and_schedule(
        repo_root, percent, epochs, drops):
    """DETReg's fine-tuning scripts per labelled fraction: epochs, and StepLR
    every 40 epochs where the script keeps the default drop."""
    cfg = load_config(
        osp.join(repo_root, 'configs/benchmarks/deformable-detr_r50_semi-sup_coco.py'),
        {'label_percent': percent, 'fold': 2})
    assert cfg.train_dataloader.dataset.ann_file == \
        f'semi_anns/instances_train2017.2@{percent}.json'
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.param_scheduler[0].milestones == drops
    assert cfg.param_scheduler[0].end == epochs


@pytest.mark.parametrize('config', [
    'soco_r18_fpn_demo', 'soco-heatmap_r18_fpn_demo', 'ccop_r18_fpn_demo',
    'plrc_r18_demo', 'detco_r18_demo', 'detcon_r18_demo'])
def test_demo_loader_names_reach_every_demo_config(repo_root, config):
    """configs/_base_/datasets/demo_unlabeled.py's names: the loader and the
    proposal cache follow them."""
    path = osp.join(repo_root, 'configs/objcon', config + '.py')
    loader = load_config(path).train_dataloader
    assert (loader.batch_size, loader.num_workers, loader.persistent_workers) == \
        (16, 2, True)
    cfg = load_config(path, {'data_root': '/scenes/', 'batch_size': 4,
                             'num_workers': 0})
    loader = cfg.train_dataloader
    # no workers: none to keep (the DataLoader refuses persistent ones)
    assert (loader.batch_size, loader.num_workers, loader.persistent_workers) == \
        (4, 0, False)
    assert loader.dataset.data_root == '/scenes/'
    for t in loader.dataset.pipeline:
        if t['type'] == 'LoadProposals':
            assert t['cache'].startswith('/scenes/proposals/')
            assert t['img_root'] == '/scenes/train'


@pytest.mark.parametrize('config', [
    'ccop_r18_fpn_demo', 'plrc_r18_demo', 'detco_r18_demo', 'detcon_r18_demo'])
def test_photometric_false_leaves_every_view_without_its_colour_transforms(
        repo_root, config):
    """The short runs that learn (benchmarks/short_runs.py; the tests of a
    falling loss) switch the views' photometric transforms off, nothing else."""
    path = osp.join(repo_root, 'configs/objcon', config + '.py')

    def views(cfg):
        return next(t['views'] for t in cfg.train_dataloader.dataset.pipeline
                    if t['type'] == 'ObjectViews')

    full, plain = views(load_config(path)), views(
        load_config(path, {'photometric': False}))
    assert all(v['pipeline'] for v in full)
    assert [v['pipeline'] for v in plain] == [[]] * len(full)
    assert [{k: x for k, x in v.items() if k != 'pipeline'} for v in plain] == \
        [{k: x for k, x in v.items() if k != 'pipeline'} for v in full]


def test_loaded_configs_print_and_dump_without_yapf(repo_root, tmp_path,
                                                   monkeypatch):
    """MMEngine would run yapf over the whole config at every print, dump and
    checkpoint (seconds for a config of many views); load_config's configs skip
    it, and what they dump still loads back to the same config."""
    import yapf.yapflib.yapf_api
    from mmengine.config import Config

    def refuse(*args, **kwargs):
        raise AssertionError('yapf ran')

    monkeypatch.setattr('mmengine.config.config.FormatCode', refuse)
    monkeypatch.setattr(yapf.yapflib.yapf_api, 'FormatCode', refuse)
    cfg = load_config(osp.join(repo_root, 'configs/objcon/detco_r18_demo.py'),
                      {'view_size': 64})
    dumped = tmp_path / 'dumped.py'
    cfg.dump(str(dumped))
    assert Config.fromfile(str(dumped)).to_dict() == cfg.to_dict()
