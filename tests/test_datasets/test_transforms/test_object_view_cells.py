"""Grid-cell views of ObjectViews (DetCo's 3x3 patch sets), against the source
view's pixels and an independent tiling check."""
import numpy as np
import pytest

from objcon.datasets.transforms import ObjectViews, PackObjectViews
from objcon.structures import boxes_to_view, grid_cell, random_cell_window

CROP = dict(scale=(0.2, 1.), ratio=(3. / 4., 4. / 3.))


def patch_views(size=96, patch=32, side=1.0, flip=0.0, patch_flip=0.0, grid=3):
    """Two global crops and a grid of patch views from each (no colour)."""
    cells = grid * grid
    views = [dict(size=size, crop=CROP, flip_prob=flip) for _ in range(2)]
    for source in (0, 1):
        views += [dict(size=patch, source=source, flip_prob=patch_flip,
                       cell=dict(grid=grid, index=i, side=side))
                  for i in range(cells)]
    return ObjectViews(views=views, pairs=[], backend='cv2')


def random_image(rng):
    h, w = int(rng.integers(60, 300)), int(rng.integers(60, 300))
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize('wh,grid', [((224, 224), (3, 3)), ((97, 50), (3, 3)),
                                     ((128, 96), (4, 2)), ((3, 3), (3, 3))])
def test_grid_cells_tile_the_view_row_by_row(wh, grid):
    cols, rows = grid
    cover = np.zeros(wh[::-1], int)
    cells = [grid_cell(wh, grid, i) for i in range(cols * rows)]
    for x1, y1, x2, y2 in np.array(cells, int):
        cover[y1:y2, x1:x2] += 1
    assert (cover == 1).all()  # every pixel in exactly one cell
    widths = {c[2] - c[0] for c in cells}
    heights = {c[3] - c[1] for c in cells}
    assert max(widths) - min(widths) <= 1 and max(heights) - min(heights) <= 1
    # row by row: cell i is in column i % cols, row i // cols
    centres = np.array([((c[0] + c[2]) / 2, (c[1] + c[3]) / 2) for c in cells])
    order = np.lexsort((centres[:, 0], centres[:, 1]))
    assert order.tolist() == list(range(cols * rows))


def test_cell_windows_are_inside_their_cell_and_cover_every_position():
    rng = np.random.RandomState(0)
    lefts = set()
    for _ in range(300):
        cx1, cy1, cx2, cy2 = grid_cell((224, 224), (3, 3), 4)  # the centre
        x1, y1, x2, y2 = random_cell_window((224, 224), (3, 3), 4, 0.85, rng)
        assert cx1 <= x1 and x2 <= cx2 and cy1 <= y1 and y2 <= cy2
        assert (x2 - x1, y2 - y1) == (round(0.85 * (cx2 - cx1)),
                                      round(0.85 * (cy2 - cy1)))
        lefts.add(x1 - cx1)
    assert (cx2 - cx1, x2 - x1) == (74, 63)
    assert lefts == set(range(74 - 63 + 1))
    with pytest.raises(ValueError, match='side'):
        random_cell_window((224, 224), (3, 3), 0, 0.)
    with pytest.raises(ValueError, match='cell 9'):
        grid_cell((224, 224), (3, 3), 9)


def test_exact_cells_reassemble_each_global_view():
    t = patch_views()
    rng = np.random.default_rng(0)
    for seed in range(10):
        np.random.seed(seed)
        res = t(dict(img=random_image(rng)))
        assert len(res['img']) == 20 and 'view_pairs' not in res
        for source in (0, 1):
            patches = res['img'][2 + 9 * source:11 + 9 * source]
            rows = [np.concatenate(patches[r * 3:r * 3 + 3], 1) for r in range(3)]
            np.testing.assert_array_equal(np.concatenate(rows, 0),
                                          res['img'][source])


@pytest.mark.parametrize('patch_flip', [0.0, 1.0])
def test_patch_windows_are_the_source_pixels_where_view_params_say(patch_flip):
    size, side = 96, 0.85
    t = patch_views(size=size, patch=27, side=side, flip=1.0,
                    patch_flip=patch_flip)
    rng = np.random.default_rng(1)
    for seed in range(10):
        np.random.seed(seed)
        img = random_image(rng)
        res = t(dict(img=img))
        params = res['view_params']
        for v in range(2, 20):
            source = (v - 2) // 9
            global_crop = params[source]['crop'].astype(np.float64)
            # the patch's crop on the image, seen in its (unflipped) source view
            mapped = boxes_to_view(params[v]['crop'][None], global_crop,
                                   (size, size), False)[0]
            window = np.round(mapped).astype(int)
            np.testing.assert_allclose(mapped, window, atol=1e-3)
            cell = grid_cell((size, size), (3, 3), (v - 2) % 9)
            assert (window[:2] >= cell[:2]).all() and (window[2:] <= cell[2:]).all()
            assert tuple(window[2:] - window[:2]) == (27, 27)  # 0.85 x 32
            # the global view is flipped, its patches are cut before the flip
            unflipped = res['img'][source][:, ::-1]
            x1, y1, x2, y2 = window
            expected = unflipped[y1:y2, x1:x2]
            if patch_flip:
                expected = expected[:, ::-1]
            assert params[v]['flip'] == bool(patch_flip)
            np.testing.assert_array_equal(res['img'][v], expected)


def test_views_without_pairs_pack_without_view_pairs():
    t = patch_views()
    np.random.seed(0)
    packed = PackObjectViews()(t(dict(img=random_image(np.random.default_rng(2)),
                                      proposals=np.array([[0, 0, 5, 5.]]))))
    assert len(packed['inputs']) == 20
    assert packed['inputs'][2].shape == (3, 32, 32)
    assert 'view_pairs' not in packed['data_samples']


def test_bad_cell_views_are_refused():
    with pytest.raises(ValueError, match='needs a source'):
        ObjectViews(views=[dict(size=96, cell=dict(grid=3, index=0))], pairs=[])
    with pytest.raises(ValueError, match='cell 9 of a grid'):
        ObjectViews(views=[dict(size=96),
                           dict(size=32, source=0, cell=dict(grid=3, index=9))],
                    pairs=[])
    with pytest.raises(ValueError, match='side'):
        ObjectViews(views=[dict(size=96), dict(
            size=32, source=0, cell=dict(grid=3, index=0, side=1.5))], pairs=[])
    with pytest.raises(ValueError, match='cell must be'):
        ObjectViews(views=[dict(size=96),
                           dict(size=32, source=0, cell=dict(grid=3))], pairs=[])
    # a patch is not a resize of its source: boxes_from cannot use it
    with pytest.raises(AssertionError, match='resize'):
        ObjectViews(views=[dict(size=96), dict(size=96, crop=CROP),
                           dict(size=32, source=1, cell=dict(grid=3, index=0))],
                    pairs=[dict(views=(0, 1)), dict(views=(0, 2), boxes_from=0)])
