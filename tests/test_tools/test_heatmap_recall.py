"""benchmarks/heatmap_recall.py: recall and box scale of heat-map proposals."""
import numpy as np

SCRIPT = 'benchmarks/heatmap_recall.py'


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


def test_recall_rows_follow_cfg_options(tiny_demo_root, load_script, capsys):
    script = load_script(SCRIPT)
    common = ['--data', tiny_demo_root, '--seeds', '1', '--max-images', '3']
    rows = script.main(common)
    out = capsys.readouterr().out
    assert 'mean scale' in out and 'heat map, random init' in out
    names = [r[0] for r in rows]
    assert names == ['heat map, random init', 'uniform random boxes']
    for _, rec, scale in rows:
        assert ((0 <= rec) & (rec <= 1)).all() and 0 < scale <= 1
    assert rows[0][2] <= 0.8 + 1e-4  # the config's max_size
    small = script.main(common + ['--cfg-options',
                                  'model.proposal_generator.max_size=0.2'])
    assert small[0][2] <= 0.2 + 1e-4 < rows[0][2]
