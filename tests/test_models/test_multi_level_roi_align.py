import torch

from objcon.models.roi import MultiLevelRoIAlign


def test_assigned_levels_pick_each_box_row_from_its_level():
    torch.manual_seed(0)
    align = MultiLevelRoIAlign(output_size=7, featmap_strides=(4, 8, 16, 32))
    feats = [torch.randn(2, 8, 64 // s, 64 // s, requires_grad=True)
             for s in (4, 8, 16, 32)]
    xy = torch.rand(6, 2) * 30
    rois = torch.cat([torch.tensor([0., 1, 0, 1, 0, 1])[:, None], xy,
                      xy + 4 + torch.rand(6, 2) * 30], 1)
    levels = torch.tensor([0, 3, 1, 1, 0, 3])  # nothing on level 2
    every = align(feats, rois)
    assert len(every) == 4 and every[0].shape == (6, 8, 7, 7)
    picked = align(feats, rois, levels)
    expected = torch.stack([every[int(lv)][i] for i, lv in enumerate(levels)])
    torch.testing.assert_close(picked, expected)
    picked.sum().backward()
    # the empty level stays in the graph with a zero gradient (DDP)
    assert feats[2].grad is not None and not feats[2].grad.any()
    assert feats[0].grad.any() and feats[3].grad.any()
