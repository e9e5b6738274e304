"""benchmarks/proposals.py: the agreement measures of two segmentations."""
import numpy as np
import pytest


def test_adjusted_rand_index_and_mean_best_overlap(load_script):
    bench = load_script('benchmarks/proposals.py')
    a = np.array([[0, 0, 0], [1, 1, 1]])
    b = np.array([[0, 0, 1], [1, 2, 2]])
    # the textbook value: (2 - 6 * 3 / 15) / ((6 + 3) / 2 - 6 * 3 / 15)
    assert bench.adjusted_rand_index(a, b) == pytest.approx(0.8 / 3.3)
    assert bench.adjusted_rand_index(b, a) == pytest.approx(0.8 / 3.3)
    # the same partition under other ids (> 255 too) agrees fully
    assert bench.adjusted_rand_index(a, 7 - a * 300) == pytest.approx(1.0)
    assert bench.adjusted_rand_index(a, np.zeros_like(a)) == pytest.approx(0.0)
    # each segment of a: best IoU 2/3 with a segment of b
    assert bench.mean_best_overlap(a, b) == pytest.approx(2 / 3)
    assert bench.mean_best_overlap(b, b + 5) == pytest.approx(1.0)
