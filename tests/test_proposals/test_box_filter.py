"""BoxFilter: each rule on hand-built boxes, SoCo's fallbacks, CCOP's recipe."""
import numpy as np

from objcon.proposals import CCOP_FILTER, SOCO_FILTER, BoxFilter

HW = (300, 300)  # sqrt(WH) = 300: rel scale 0.3 -> 90 px, 0.8 -> 240 px


def box(x, y, w, h):
    return [x, y, x + w, y + h]


def kept(filt, boxes, hw=HW):
    return filt(np.array(boxes, np.float32), hw).tolist()


def test_min_size_inclusive_and_strict():
    boxes = [box(0, 0, 32, 32), box(0, 0, 31, 100), box(0, 0, 100, 31)]
    assert kept(BoxFilter(min_size=32), boxes) == [box(0, 0, 32, 32)]
    assert kept(BoxFilter(min_size=32, strict=True), boxes) == []


def test_aspect_range_bounds():
    boxes = [box(0, 0, 30, 90), box(0, 0, 90, 30), box(0, 0, 29, 90),
             box(0, 0, 91, 30)]
    assert kept(BoxFilter(aspect_range=(1 / 3, 3)), boxes) == boxes[:2]
    assert kept(BoxFilter(aspect_range=(1 / 3, 3), strict=True),
                boxes + [box(0, 0, 50, 50)]) == [box(0, 0, 50, 50)]


def test_relative_scale_range():
    boxes = [box(0, 0, 90, 90), box(0, 0, 89, 89), box(0, 0, 240, 240),
             box(0, 0, 241, 241)]
    assert kept(BoxFilter(rel_scale_range=(0.3, 0.8)), boxes) == [boxes[0], boxes[2]]
    # Relative to the image the boxes belong to: same boxes, bigger image.
    assert kept(BoxFilter(rel_scale_range=(0.3, 0.8)), boxes, (600, 600)) == \
        [boxes[2], boxes[3]]


def test_min_sqrt_area_and_degenerate_boxes():
    boxes = [box(0, 0, 20, 20), box(0, 0, 10, 40), box(0, 0, 21, 20),
             box(5, 5, 0, 50)]
    assert kept(BoxFilter(min_sqrt_area=20), boxes) == boxes[:3]
    assert kept(BoxFilter(min_sqrt_area=20, strict=True), boxes) == [boxes[2]]
    assert kept(BoxFilter(), boxes) == boxes[:3]  # zero width never passes


def test_soco_filter_all_rules_then_each_fallback():
    soco = BoxFilter(**SOCO_FILTER)
    good = box(10, 10, 120, 100)
    too_thin = box(0, 0, 20, 150)  # fails min size and aspect
    tall_small = box(0, 0, 40, 100)  # ratio ok, size ok, rel scale 0.21: too small
    huge_wide = box(0, 0, 290, 290)  # rel scale 0.97: too big, ratio ok
    assert kept(soco, [good, too_thin, tall_small]) == [good]
    # Nothing passes the full filter -> fallback 1: ratio, and w, h >= 32 still
    # (the reference's filter_ratio keeps the size rule).
    small_square = box(0, 0, 20, 20)  # ratio ok, too small
    assert kept(soco, [too_thin, small_square, tall_small, huge_wide]) == \
        [tall_small, huge_wide]
    # Only boxes under 32 px pass the ratio: fallback 1 is empty too, fallback 2
    # (w, h >= 32) takes the thin one.
    assert kept(soco, [small_square, too_thin, box(0, 0, 31, 31)]) == []
    assert kept(soco, [small_square, box(0, 0, 40, 140)]) == [box(0, 0, 40, 140)]
    # Nothing passes the ratio either -> fallback 2: w, h >= 32 only.
    wide = box(0, 0, 200, 40)  # ratio 5
    tiny_wide = box(0, 0, 100, 10)
    assert kept(soco, [wide, tiny_wide, too_thin]) == [wide]
    # Nothing at all.
    assert kept(soco, [tiny_wide]) == []


def test_ccop_filter_nms_random_scores_top_k():
    ccop = BoxFilter(**CCOP_FILTER)
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 200, (300, 2))
    wh = rng.uniform(25, 90, (300, 2))
    boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
    out = ccop(boxes, HW)
    assert len(out) == 50
    from objcon.structures import box_iou
    iou = box_iou(out, out)
    np.fill_diagonal(iou, 0)
    assert iou.max() <= 0.5
    # Deterministic for the same boxes (a cache must be reproducible).
    assert np.array_equal(out, ccop(boxes, HW))
    # Random order, not input order: the first kept box is not always box 0.
    assert not np.array_equal(out[0], boxes[0]) or not np.array_equal(
        BoxFilter(**dict(CCOP_FILTER, seed=1))(boxes, HW)[0], boxes[0])
    # Without NMS the top-k keeps input order.
    assert np.array_equal(BoxFilter(max_num=3)(boxes, HW), boxes[:3])
