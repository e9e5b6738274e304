import torch

from objcon.models.utils import assign_scale_levels, correspondence_mask

SOCO = (48, 96, 192, 224)


def _square(side):
    return torch.tensor([[10., 10., 10. + side, 10. + side]])


def test_level_assignment_at_the_thresholds():
    got = {s: int(assign_scale_levels(_square(s), SOCO)) for s in
           (1, 48, 49, 96, 97, 192, 193, 224, 225, 600)}
    assert got == {1: 0, 48: 0, 49: 1, 96: 1, 97: 2, 192: 2, 193: 3, 224: 3,
                   225: 3, 600: 3}


def test_level_uses_sqrt_area_not_the_long_side():
    # 24 x 96: long side 96, sqrt(area) 48 -> P2
    assert int(assign_scale_levels(torch.tensor([[0., 0., 24., 96.]]), SOCO)) == 0


def test_single_level_encoders_put_every_box_on_level_0():
    boxes = torch.tensor([[[0., 0., 10., 10.], [0., 0., 300., 300.]]])
    assert assign_scale_levels(boxes, None).tolist() == [[0, 0]]


def _slot(level, box, k):
    return level * k + box


def test_correspondence_crosses_levels():
    # two boxes; box 0 is small in view a (P2) and large in view b (P4)
    ids = torch.tensor([[7, 9]])
    lv_a = torch.tensor([[0, 1]])
    lv_b = torch.tensor([[2, 1]])
    mask = correspondence_mask(ids, ids, lv_a, lv_b, num_levels=4)
    k = 2
    assert mask.shape == (1, 8, 8)
    expected = torch.zeros(8, 8)
    expected[_slot(0, 0, k), _slot(2, 0, k)] = 1  # box 0: P2 in a <-> P4 in b
    expected[_slot(1, 1, k), _slot(1, 1, k)] = 1  # box 1: P3 <-> P3
    assert torch.equal(mask[0], expected)


def test_padded_duplicates_match_every_copy_of_their_proposal():
    # K=4 padded from 2 proposals: slots 2, 3 repeat ids 5 and 8
    ids = torch.tensor([[5, 8, 5, 8]])
    lv = torch.zeros(1, 4, dtype=torch.long)
    mask = correspondence_mask(ids, ids, lv, lv, num_levels=1)[0]
    expected = (ids[0][:, None] == ids[0][None, :]).float()
    assert torch.equal(mask, expected)
    assert mask.sum() == 8  # each id: 2 x 2 matches


def test_transpose_is_the_reverse_direction():
    ids = torch.tensor([[1, 2, 3, 1]])
    lv_a = torch.tensor([[0, 3, 1, 0]])
    lv_b = torch.tensor([[1, 3, 2, 1]])
    ab = correspondence_mask(ids, ids, lv_a, lv_b, 4)
    ba = correspondence_mask(ids, ids, lv_b, lv_a, 4)
    assert torch.equal(ab.transpose(1, 2), ba)
