"""HeatMapProposals: sampling, suppression, boxes, warm-up; SoCo's view mapping."""
import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from objcon.models.proposal_generators import HeatMapProposals
from objcon.registry import PROPOSAL_GENERATORS
from objcon.structures import (PairSlotSampler, box_iou, boxes_to_view,
                               view_pairs_from_boxes)


def _feats(seed=0, shape=(3, 64, 4, 4)):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _two_blobs(h=96, w=96):
    """A (1, 1, h, w) map with two separated Gaussian blobs (channel = 1)."""
    ys, xs = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(),
                            indexing='ij')

    def blob(cx, cy, s):
        return torch.exp(-((xs - cx)**2 + (ys - cy)**2) / (2 * s * s))

    return (blob(20, 24, 5) + blob(72, 66, 7))[None, None]


def test_registered_and_deterministic_under_seed():
    feats = _feats()
    a = PROPOSAL_GENERATORS.build(dict(type='HeatMapProposals', seed=3))
    b = PROPOSAL_GENERATORS.build(dict(type='HeatMapProposals', seed=3))
    c = PROPOSAL_GENERATORS.build(dict(type='HeatMapProposals', seed=4))
    shapes = [(128, 128)] * 3
    out_a, out_b, out_c = (s(feats, shapes, iteration=10) for s in (a, b, c))
    assert len(out_a) == 3 and out_a[0].shape == (a.boxes_per_image, 4) == (12, 4)
    for x, y in zip(out_a, out_b):
        assert torch.equal(x, y)
    assert not all(torch.equal(x, y) for x, y in zip(out_a, out_c))
    # the generator advances: a second call draws new centres
    again = a(feats, shapes, iteration=10)
    assert not all(torch.equal(x, y) for x, y in zip(out_a, again))


@pytest.mark.parametrize('dist', [0.25, 20.])
def test_suppression_keeps_centres_apart(dist):
    src = HeatMapProposals(num_centres=5, suppress_dist=dist, seed=0)
    # Two blobs: without suppression most centres would fall on them.
    heat = src.heat_map(_two_blobs(), (96, 96)).repeat(8, 1, 1)
    centres = src.sample_centres(heat).float()  # (8, 5, 2)
    px = dist * 96 if dist <= 1 else dist
    cheb = (centres[:, :, None] - centres[:, None]).abs().amax(-1)
    off_diag = ~torch.eye(5, dtype=torch.bool)
    assert (cheb[:, off_diag] >= px).all(), cheb
    # and sampling follows the heat: the first centre lies on a blob
    first = centres[:, 0].long()
    assert (heat[torch.arange(8), first[:, 1], first[:, 0]] > 0.2).all()


def test_no_suppression_concentrates_on_peaks():
    # The suppression test above must be able to fail: without it, centres repeat.
    src = HeatMapProposals(num_centres=5, suppress_dist=0., seed=0)
    heat = torch.zeros(4, 32, 32)
    heat[:, 10, 10] = 1.
    centres = src.sample_centres(heat)
    assert (centres == 10).all()


def test_boxes_inside_image_and_extent_follows_blob():
    src = HeatMapProposals(num_centres=4, scales=(0.5, 1., 3.), aspects=(0.5, 2.),
                           seed=1)
    for h, w in ((96, 96), (64, 160)):
        boxes = src(_feats(shape=(4, 32, 3, 5)), [(h, w)] * 4, iteration=0)
        for b in boxes:
            assert b.shape == (24, 4)
            assert (b[:, :2] >= 0).all() and (b[:, 2] <= w).all() and \
                (b[:, 3] <= h).all()
            assert (b[:, 2:] > b[:, :2]).all()
    # extent of a square blob = the blob (threshold on the centre's heat)
    heat = torch.zeros(1, 40, 40)
    heat[0, 10:20, 5:30] = 1.
    ext = src.extents(heat, torch.tensor([[[12, 15]]]))
    assert ext[0, 0].tolist() == [5., 10., 30., 20.]


def test_max_size_bounds_box_scale():
    # A flat heat map: every extent is the whole image, so scale-1.5 boxes
    # would exceed the image before the bound.
    heat = torch.ones(2, 60, 90)
    kw = dict(num_centres=3, scales=(0.5, 1., 1.5), aspects=(0.5, 1., 2.), seed=0)
    hw = (60, 90)
    bounded = HeatMapProposals(max_size=0.6, **kw).propose(heat, hw)
    free = HeatMapProposals(max_size=None, **kw).propose(heat, hw)

    def rel_scale(b):
        wh = b[..., 2:] - b[..., :2]
        return (wh[..., 0] * wh[..., 1]).sqrt() / (60 * 90) ** 0.5

    assert (rel_scale(bounded) <= 0.6 + 1e-4).all()
    assert (rel_scale(free) > 0.6).any()
    # boxes already small enough are left as they are
    small = rel_scale(free) <= 0.6
    assert torch.equal(bounded[small], free[small])
    # the shrink keeps the aspect of boxes that are not clipped
    wh = bounded[..., 2:] - bounded[..., :2]
    aspect = (wh[..., 0] / wh[..., 1]).flatten()
    assert torch.allclose(aspect, torch.tensor([0.75, 1.5, 3.]).repeat(18),
                          rtol=1e-4), aspect
    with pytest.raises(ValueError, match='max_size'):
        HeatMapProposals(max_size=0.)


def test_two_blobs_are_both_covered():
    src = HeatMapProposals(num_centres=4, scales=(1., ), suppress_dist=0.25,
                           threshold=0.5, seed=0)
    gt = np.array([[20 - 10, 24 - 10, 20 + 10, 24 + 10],
                   [72 - 14, 66 - 14, 72 + 14, 66 + 14]], np.float32)
    for _ in range(5):
        boxes = src(_two_blobs(), [(96, 96)], iteration=0)[0].numpy()
        iou = box_iou(gt, boxes)
        assert (iou.max(1) > 0.3).all(), iou


def test_warmup_switches_at_configured_iteration():
    src = HeatMapProposals(warmup_iters=3, seed=0,
                           warmup=dict(type='GridBoxes', rows=2, cols=2))
    hub = MessageHub.get_current_instance()
    feats = _feats(shape=(2, 16, 4, 4))
    sizes = []
    for it in range(5):
        hub.update_info('iter', it)  # as RuntimeInfoHook does before each iter
        boxes = src(feats, [(64, 64)] * 2)
        sizes.append(len(boxes[0]))
        if it < 3:
            assert src.in_warmup()
            assert torch.equal(boxes[0], torch.tensor(
                [[0, 0, 32, 32], [32, 0, 64, 32], [0, 32, 32, 64],
                 [32, 32, 64, 64]], dtype=torch.float32))
    assert sizes == [4, 4, 4, 12, 12]


def test_pair_boxes_map_v1_boxes_into_crops():
    # V1 = whole 200x100 image resized to 100x50 and mirrored; V2 = crop
    # [100, 0, 200, 100] at 50x50, V3 = crop [0, 0, 100, 100] at 50x50.
    params = [dict(crop=np.array([0, 0, 200, 100], np.float32), flip=True,
                   img_shape=(50, 100)),
              dict(crop=np.array([100, 0, 200, 100], np.float32), flip=False,
                   img_shape=(50, 50)),
              dict(crop=np.array([0, 0, 100, 100], np.float32), flip=False,
                   img_shape=(50, 50))]
    orig = np.array([[120, 10, 180, 90]], np.float64)  # inside V2 only
    v1 = boxes_to_view(orig, params[0]['crop'].astype(np.float64), (100, 50), True)
    assert np.allclose(v1, [[10, 5, 40, 45]])
    out = view_pairs_from_boxes(v1, 0, params, [(0, 1), (0, 2)], (100, 200),
                                PairSlotSampler(num_boxes=4),
                                rng=np.random.RandomState(0))
    assert out.views == ((0, 1), (0, 2)) and out.boxes_a.shape == (2, 4, 4)
    a1, b1, a2, b2 = (x.numpy() for x in (out.boxes_a[0], out.boxes_b[0],
                                          out.boxes_a[1], out.boxes_b[1]))
    assert out.ids_a[0].tolist() == out.ids_b[0].tolist() == [0] * 4
    assert np.allclose(a1, v1) and np.allclose(b1, [[10, 5, 40, 45]] * 4)
    # not visible in V3: the whole-image fallback (the original image is
    # 200x100, from ori_shape), id -1
    assert out.ids_a[1].tolist() == out.ids_b[1].tolist() == [-1] * 4
    assert np.allclose(b2, [[0, 0, 50, 50]] * 4)
    assert np.allclose(a2, [[0, 0, 100, 50]] * 4)
