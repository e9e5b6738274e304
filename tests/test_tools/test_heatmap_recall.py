"""benchmarks/heatmap_recall.py: recall and box scale of heat-map proposals
against random and grid boxes of the same count and mean scale."""
import json
import os.path as osp

import numpy as np
import pytest

SCRIPT = 'benchmarks/heatmap_recall.py'
CONFIG = 'configs/objcon/soco-heatmap_r18_fpn_demo.py'
# The interface objcon-bench uses: the config's named variables (small views: fast).
SMALL_VIEWS = ['--cfg-options', 'view_size=64', 'small_view_size=32']


def test_mean_scale_and_recall_by_hand(load_script):
    script = load_script(SCRIPT)
    shapes = [(100, 100, 3), (50, 200, 3)]
    boxes = [np.array([[0, 0, 50, 50], [0, 0, 100, 100]], np.float32),
             np.array([[0, 0, 100, 25]], np.float32)]
    # sqrt(wh) / sqrt(WH): 0.5, 1.0, 0.5
    assert np.isclose(script.mean_scale(boxes, shapes), 2 / 3)
    gts = [np.array([[0, 0, 50, 40], [60, 60, 90, 90]], np.float32),
           np.zeros((0, 4), np.float32)]
    # gt 1: IoU 0.8 with box 1; gt 2: no box above 0.09
    assert np.allclose(script.recall(boxes, gts, [0.5, 0.9]), [0.5, 0.])


def test_grid_recalls_the_boxes_it_equals(load_script):
    from objcon.proposals import GridBoxes
    script = load_script(SCRIPT)
    img = np.zeros((100, 200, 3), np.uint8)
    assert script.grid_shape(12) == (3, 4) and script.grid_shape(7) == (1, 7)
    grid = GridBoxes(rows=2, cols=3, scale=0.4)(img)  # boxes 80 x 40
    gts = [np.array([[60, 60, 140, 100],  # the grid's 5th box exactly
                     [0, 0, 40, 20]], np.float32)]  # a quarter of the 1st
    assert np.allclose(script.recall([grid], gts, [0.2, 0.7, 1.0]),
                       [1.0, 0.5, 0.5])
    assert np.isclose(script.mean_scale([grid], [img.shape]), 0.4)


def _names(report):
    return [row['key'] for row in report['rows']]


def _check_batched_heat_maps(model, cfg):
    """Batches give each image its own heat map; boxes land on each image."""
    import torch

    from objcon.apis import heatmap_boxes, inference_heatmap, view_heat_maps
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            for h, w in [(128, 128), (96, 160), (128, 128)]]
    heat = view_heat_maps(model, cfg, imgs, batch_size=2)
    alone = torch.cat([view_heat_maps(model, cfg, [img]) for img in imgs])
    assert torch.allclose(heat, alone, atol=1e-5)
    assert not torch.allclose(heat[0], heat[2], atol=1e-3)
    model.proposal_generator.generator = torch.Generator().manual_seed(0)
    boxes = heatmap_boxes(model, heat[1:2], [imgs[1].shape])[0]
    model.proposal_generator.generator = torch.Generator().manual_seed(0)
    assert np.allclose(inference_heatmap(model, cfg, imgs[1])[1], boxes)
    assert (boxes[:, 2] <= 160).all() and (boxes[:, 3] <= 96).all()
    assert boxes[:, 2].max() > 128  # mapped onto the wide image, not the view


@pytest.mark.slow  # builds two ResNet-18 models per run
def test_rows_match_the_heatmap_budget(tiny_demo_root, load_script, tmp_path,
                                       capsys):
    import torch

    from objcon.apis import init_pretrainer
    script = load_script(SCRIPT)
    torch.manual_seed(1)  # another network than the random-init row's
    model, cfg = init_pretrainer(osp.join(script.REPO, CONFIG))
    ckpt = str(tmp_path / 'hm.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    _check_batched_heat_maps(model, cfg)
    out = str(tmp_path / 'out' / 'recall.json')
    common = ['--data', tiny_demo_root, '--seeds', '2']
    assert script.main(common + ['--checkpoint', ckpt, '--out', out,
                                 *SMALL_VIEWS]) == 0
    table = capsys.readouterr().out
    with open(out) as f:
        report = json.load(f)
    assert _names(report) == ['heatmap_checkpoint', 'heatmap_random_init',
                              'random_boxes', 'grid_boxes']
    assert all(row['name'] in table for row in report['rows'])
    assert report['split'] == 'val' and report['num_images'] == 6
    assert report['num_gt'] > 0 and report['seeds'] == [0, 1]
    assert report['cfg_options'] == dict(view_size=64, small_view_size=32)
    hm, rnd, grid = report['rows'][0], report['rows'][2], report['rows'][3]
    assert report['matched_to'] == 'heatmap_checkpoint'
    assert report['matched_scale'] == hm['mean_scale']
    assert f"{hm['mean_scale']:.3f} of '{hm['name']}'" in table
    # two different networks: two different mean scales
    assert hm['mean_scale'] != report['rows'][1]['mean_scale']
    for row in report['rows']:
        assert row['boxes_per_image'] == hm['boxes_per_image'] == 12
        assert set(row['recall']) == {'0.5', '0.7'}
        assert all(0 <= v <= 1 for v in row['recall'].values())
    for row in (rnd, grid):
        assert abs(row['mean_scale'] / hm['mean_scale'] - 1) < 0.03
    assert len(rnd['recall_per_seed']) == 2 and grid['seeds'] == []

    # Without a checkpoint the baselines follow the random init; --cfg-options
    # reach the generator.
    assert script.main(common + ['--out', out, *SMALL_VIEWS,
                                 'model.proposal_generator.max_size=0.2']) == 0
    with open(out) as f:
        small = json.load(f)
    assert _names(small) == ['heatmap_random_init', 'random_boxes', 'grid_boxes']
    assert small['matched_to'] == 'heatmap_random_init'
    assert small['matched_scale'] <= 0.2 + 1e-4 < hm['mean_scale']
    for row in small['rows'][1:]:
        assert abs(row['mean_scale'] / small['matched_scale'] - 1) < 0.03


@pytest.mark.parametrize('mistake, expected', [
    (['--split', 'test'], 'splits found there: train, val'),
    (['--checkpoint', 'no/such.pth'], '--checkpoint no/such.pth: no such file'),
    (['--config', 'no/such.py'], '--config no/such.py: no such file'),
])
def test_user_mistakes_are_one_error_line(tiny_demo_root, load_script, capsys,
                                          mistake, expected):
    script = load_script(SCRIPT)
    assert script.main(['--data', tiny_demo_root, *mistake]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: ') and expected in err[0]


def test_missing_image_is_an_error(tiny_demo_root, load_script, tmp_path):
    import shutil

    from objcon.errors import InputError
    script = load_script(SCRIPT)
    root = tmp_path / 'copy'
    shutil.copytree(tiny_demo_root, root)
    first = json.load(open(root / 'annotations' / 'instances_val.json'))
    (root / 'val' / first['images'][0]['file_name']).unlink()
    with pytest.raises(InputError, match='1 of the 6 images .* are missing'):
        script.load_gt(str(root), 'val')
