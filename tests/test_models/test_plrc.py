"""One PLRC step on a tiny real model (mmdet ResNet-18) and real views."""
import numpy as np
import pytest
import torch


def _tiny_plrc():
    from mmengine.config import Config
    from objcon.registry import MODELS
    from objcon.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile('configs/_base_/models/plrc_r50.py').model
    cfg.backbone.depth = 18
    cfg.point_projector.update(in_channels=512, hid_channels=64, out_channels=16)
    cfg.dense_head.update(in_channels=512, hid_channels=64, bottleneck_channels=16,
                          out_channels=32)
    cfg.update(queue_size=32, feat_dim=16, dense_size=8)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def tiny_plrc():
    return _tiny_plrc()


def _batch(model, num_images=4, seed=0):
    from objcon.registry import TRANSFORMS
    np.random.seed(seed)
    crop = dict(scale=(0.2, 1.))
    views = TRANSFORMS.build(dict(
        type='ObjectViews',
        views=[dict(size=64, crop=crop), dict(size=64, crop=crop),
               dict(size=64, crop=crop, overlap=dict(view=0))],
        region_map=dict(size=8), backend='cv2'))
    grid = TRANSFORMS.build(dict(type='GridRegionMap'))
    pack = TRANSFORMS.build(dict(type='PackObjectViews'))
    rng = np.random.RandomState(seed)
    packed = [pack(views(grid(dict(img=rng.randint(0, 255, (80, 100, 3),
                                                   np.uint8)))))
              for _ in range(num_images)]
    data = dict(inputs=[torch.stack([p['inputs'][v] for p in packed])
                        for v in range(3)],
                data_samples=[p['data_samples'] for p in packed])
    return model.data_preprocessor(data, True)


def test_one_step_trains_the_online_heads_only_and_moves_queue_and_centre(
        tiny_plrc):
    from mmengine.logging import MessageHub
    # outside a Runner; earlier in-process Runners may have left an epoch behind
    MessageHub.get_current_instance().update_info('epoch', 0)
    model = tiny_plrc
    data = _batch(model)
    ptr = int(model.image_queue.ptr)
    centre = model.distill_loss.centre.clone()
    assert centre.shape == (1, 8 * 8 + 32)
    losses = model.loss(data['inputs'], data['data_samples'])
    for name in ('loss_image', 'loss_point', 'loss_distill'):
        assert torch.isfinite(losses[name]) and losses[name] > 0, name
    assert float(losses['teacher_temperature']) == pytest.approx(0.04)
    assert float(losses['momentum']) == pytest.approx(0.999)
    assert float(losses['point_images']) >= 1
    assert float(losses['distill_pairs']) > 0
    assert float(losses['image_queue_cosine']) == pytest.approx(
        model.image_queue.mean_cosine())
    model.zero_grad()
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    for name, p in model.named_parameters():
        if name.startswith('target_net.'):
            assert p.grad is None, name
        elif p.requires_grad:
            assert p.grad is not None, name
    assert int(model.image_queue.ptr) == (ptr + 4) % 32
    assert not torch.equal(model.distill_loss.centre, centre)


def test_samples_without_region_maps_are_refused(tiny_plrc):
    data = _batch(tiny_plrc, num_images=2)
    for ds in data['data_samples']:
        del ds.region_maps
    with pytest.raises(ValueError, match='GridRegionMap'):
        tiny_plrc.loss(data['inputs'], data['data_samples'])


def test_transfer_map_is_the_backbone(tiny_plrc):
    from objcon.models.algorithms import PLRC
    assert PLRC.transfer_map(dict(type='PLRC')) == dict(
        backbone=[('backbone.', 'backbone.')])


@pytest.mark.slow
def test_the_point_loss_falls_on_a_fixed_batch():
    """The point loss's gradient reaches the network the right way round: a few
    SGD steps on one batch (same views, same points) lower it."""
    model = _tiny_plrc()
    data = _batch(model, num_images=4, seed=1)
    optim = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9)
    values = []
    for _ in range(5):
        torch.manual_seed(0)  # the same points every step
        losses = model.loss(data['inputs'], data['data_samples'])
        values.append(float(losses['loss_point']))
        optim.zero_grad()
        losses['loss_point'].backward()
        optim.step()
    assert values[-1] < values[0] - 0.1, values
