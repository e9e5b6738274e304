"""tools/visualize_proposals.py draws a cache's or a source's proposals."""
import os.path as osp

import cv2
import numpy as np

from objcon.proposals import precompute_proposals


def test_visualize_from_cache_and_source(tiny_demo_root, tmp_path, load_script,
                                         capsys):
    tool = load_script('tools/visualize_proposals.py')
    root = osp.join(tiny_demo_root, 'val')
    image = osp.join(root, '000001.jpg')
    cache = str(tmp_path / 'cache')
    precompute_proposals(dict(type='GridBoxes', rows=2, cols=2), root, cache,
                         show_progress=False)
    original = cv2.imread(image)
    out = str(tmp_path / 'cache.png')
    assert tool.main([image, out, '--cache', cache]) == 0
    assert '4 boxes' in capsys.readouterr().out
    drawn = cv2.imread(out)
    assert drawn.shape == original.shape
    # The grid's inner edges (column 63/64, row 63/64) are drawn on.
    assert np.abs(drawn[:, 63].astype(int) - original[:, 63]).sum() > 0
    out = str(tmp_path / 'masks.png')
    assert tool.main([image, out, '--source', 'detcon']) == 0
    assert 'segments' in capsys.readouterr().out
    assert np.abs(cv2.imread(out).astype(int) - original).mean() > 5
    # An image the cache does not hold: a clear error, exit status 2.
    missing = osp.join(tiny_demo_root, 'train', '000000.jpg')
    assert tool.main([missing, out, '--cache', cache]) == 2
    assert 'not in the proposal cache' in capsys.readouterr().err


def test_visualize_heatmap_random_init(tiny_demo_root, tmp_path, repo_root,
                                       load_script, capsys, monkeypatch):
    monkeypatch.setenv('OBJCON_DEMO_ROOT', tiny_demo_root)
    tool = load_script('tools/visualize_proposals.py')
    image = osp.join(tiny_demo_root, 'val', '000001.jpg')
    out = str(tmp_path / 'heat.png')
    config = osp.join(repo_root, 'configs/objcon/soco-heatmap_r18_fpn_demo.py')
    assert tool.main([image, out, '--heatmap', config]) == 0
    assert '12 boxes (heat map, random init)' in capsys.readouterr().out
    drawn, original = cv2.imread(out), cv2.imread(image)
    assert drawn.shape == original.shape
    # the colour-mapped overlay changes the whole image
    assert np.abs(drawn.astype(int) - original).mean() > 10
