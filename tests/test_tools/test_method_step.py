"""benchmarks/method_step.py: every method of its table measured in one run."""
import math
import re

import pytest

pytestmark = pytest.mark.slow  # it runs training steps


def test_every_method_gets_a_row_with_finite_numbers(
        load_script, tiny_demo_root, tiny_demo_proposals, tiny_ccop_proposals,
        tiny_detcon_proposals, tmp_path, capsys):
    bench = load_script('benchmarks/method_step.py')
    rc = bench.main(['--data', tiny_demo_root, '--batch', '2', '--repeats', '1',
                     '--cache-dir', str(tmp_path), '--cfg-options', 'view_size=32',
                     'small_view_size=16'])
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if line.startswith('| ') and len(cells) == len(bench.COLUMNS) and \
                cells[0] != 'method':
            rows[cells[0]] = cells
    expected = [f'{name} {kind}' for name in bench.METHODS
                for kind in ('train_step', 'bare backbone+neck fwd/bwd')]
    assert sorted(rows) == sorted(expected), out[-3000:]
    for name, cells in rows.items():
        numbers = [float(c) for c in cells[2:]]
        assert all(math.isfinite(v) and v > 0 for v in numbers), cells
        assert re.fullmatch(r'\d+x\d+(, \d+x\d+)*', cells[1]), cells
    for name in bench.METHODS:  # a step costs more than its bare backbone
        assert float(rows[f'{name} train_step'][7]) > 1, rows
    # the tiny caches existed: nothing was precomputed
    assert not list(tmp_path.iterdir())
