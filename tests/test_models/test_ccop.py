"""CCOP: hardest positive, slot validity, a loss/backward step, queues and EMA."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.structures import BaseDataElement

from objcon.models.algorithms import CCOP
from objcon.registry import MODELS
from objcon.structures import ViewPairs
from objcon.utils import register_all_modules

BN = dict(type='BN', requires_grad=True)
PREPROCESSOR = dict(type='mmpretrain.SelfSupDataPreprocessor',
                    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                    to_rgb=True)


def tiny_ccop_cfg(c=16, queue_size=32):
    return dict(
        type='CCOP',
        backbone=dict(type='mmdet.ResNet', depth=18, norm_cfg=BN, norm_eval=False,
                      zero_init_residual=False),
        neck=dict(type='mmdet.FPN', in_channels=[64, 128, 256, 512],
                  out_channels=c, num_outs=4, norm_cfg=BN),
        embedder=dict(
            type='ObjectEmbedder',
            roi_align=dict(type='MultiLevelRoIAlign', output_size=7,
                           featmap_strides=[4, 8, 16, 32]),
            trunk=dict(type='FlattenTrunk'),
            projector=dict(type='ProjectionMLP', in_channels=c * 49,
                           hid_channels=64, out_channels=16)),
        image_projector=dict(type='ProjectionMLP', in_channels=512,
                             hid_channels=64, out_channels=16, with_avg_pool=True),
        queue_size=queue_size, feat_dim=16, num_jitters=4,
        data_preprocessor=PREPROCESSOR)


def _batch(n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(n):
        xy = torch.rand(4, 2, generator=g) * 30
        box = torch.cat([xy, xy + 10 + torch.rand(4, 2, generator=g) * 20], 1)
        ids = torch.tensor([0, 1, 2, 0])  # the last slot is padding
        samples.append(BaseDataElement(view_pairs=ViewPairs(
            ((0, 1), ), box[None], ids[None], (box * 0.9)[None], ids[None])))
    inputs = [torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8,
                            generator=g) for _ in range(2)]
    return inputs, samples


@pytest.fixture(scope='module')
def registered():
    register_all_modules()


def test_hardest_positive_picks_least_similar_valid_candidate():
    query = torch.tensor([[1., 0.]])
    candidates = torch.tensor([[[0.9, 0.1],    # valid, similar
                                [-1., 0.05],   # invalid, least similar of all
                                [0.2, 0.8],    # valid, least similar valid
                                [1., 0.]]])    # the box itself
    valid = torch.tensor([[True, False, True, True]])
    chosen, index = CCOP.hardest_positive(query, candidates, valid)
    assert index.tolist() == [2]
    assert torch.equal(chosen, candidates[:, 2])
    # with only the box itself valid, it is the positive
    _, index = CCOP.hardest_positive(
        query, candidates, torch.tensor([[False, False, False, True]]))
    assert index.tolist() == [3]


def test_first_slots_mark_padding():
    ids = torch.tensor([[0, 1, 2, 0], [-1, -1, -1, -1], [3, 4, 4, 3]])
    assert CCOP.first_slots(ids).tolist() == [
        [True, True, True, False], [True, False, False, False],
        [True, True, False, False]]


def test_loss_backward_step_queues_and_curriculum(registered):
    torch.manual_seed(0)
    hub = MessageHub.get_current_instance()
    hub.update_info('max_iters', 10)
    hub.update_info('iter', 5)
    model = MODELS.build(tiny_ccop_cfg())
    model.train()
    assert 'image_projector' in model.target
    assert model.current_momentum() == pytest.approx(0.999)
    data = model.data_preprocessor(dict(zip(('inputs', 'data_samples'),
                                            _batch())), True)
    image_queue = model.image_queue.features.clone()
    losses = model(**data, mode='loss')
    for name in ('loss_image', 'loss_object', 'loss_intra'):
        assert torch.isfinite(losses[name]), name
    assert losses['iou_floor'].item() == pytest.approx(0.6)
    assert losses['shift'].item() == pytest.approx(0.375)
    assert losses['log_scale'].item() == pytest.approx(0.875)
    assert losses['num_objects'].item() == 6  # 3 distinct boxes x 2 images
    # health scalars: the queues' spread, this step's keys included
    assert losses['image_queue_cosine'].item() == pytest.approx(
        model.image_queue.mean_cosine())
    assert losses['object_queue_cosine'].item() == pytest.approx(
        model.roi_queue.mean_cosine())
    # queues: 2 image keys, 6 hardest positives
    assert int(model.image_queue.ptr) == 2 and int(model.roi_queue.ptr) == 6
    assert not torch.equal(model.image_queue.features[:2], image_queue[:2])
    assert torch.equal(model.image_queue.features[2:], image_queue[2:])
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    total.backward()
    grads = [p.grad for p in model.online_modules().parameters()]
    assert all(g is not None for g in grads)
    assert all(p.grad is None for p in model.target.parameters())
    assert {'image_queue.features', 'roi_queue.ptr'} <= set(model.state_dict())


def test_bad_settings_and_inputs_raise_clear_errors(registered):
    with pytest.raises(ValueError, match='curriculum lacks'):
        MODELS.build(dict(tiny_ccop_cfg(), curriculum=dict(iou_floor=(0.8, 0.4))))
    with pytest.raises(ValueError, match='level thresholds'):
        MODELS.build(dict(tiny_ccop_cfg(), level_thresholds=(48, 96)))
    model = MODELS.build(tiny_ccop_cfg())
    inputs, samples = _batch()
    for s in samples:  # two pairs
        vp = s.view_pairs
        s.view_pairs = ViewPairs(((0, 1), (1, 0)), *(torch.cat([t, t]) for t in (
            vp.boxes_a, vp.ids_a, vp.boxes_b, vp.ids_b)))
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)
    with pytest.raises(ValueError, match='one pair of views'):
        model(**data, mode='loss')
