"""One DetCon step on a tiny real model (mmdet ResNet-18) and real views."""
import numpy as np
import pytest
import torch

from objcon.models.algorithms import detcon as detcon_module


def _tiny_detcon():
    from mmengine.config import Config
    from objcon.registry import MODELS
    from objcon.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile('configs/_base_/models/detcon_r50.py').model
    cfg.backbone.depth = 18
    cfg.projector.update(in_channels=512, hid_channels=64, out_channels=16)
    cfg.predictor.update(in_channels=16, hid_channels=64, out_channels=16)
    cfg.num_masks = 5
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _batch(model, num_images=4, seed=0):
    """Views of random images whose label maps are 3 x 3 blocks (ids > 255)."""
    from objcon.registry import TRANSFORMS
    np.random.seed(seed)
    crop = dict(scale=(0.3, 1.))
    views = TRANSFORMS.build(dict(
        type='ObjectViews', views=[dict(size=64, crop=crop)] * 2,
        region_map=dict(size=64), backend='cv2'))
    grid = TRANSFORMS.build(dict(type='GridRegionMap', grid=3))
    pack = TRANSFORMS.build(dict(type='PackObjectViews'))
    rng = np.random.RandomState(seed)
    packed = []
    for _ in range(num_images):
        results = grid(dict(img=rng.randint(0, 255, (80, 100, 3), np.uint8)))
        results['region_map'] = results['region_map'] + 1000
        packed.append(pack(views(results)))
    data = dict(inputs=[torch.stack([p['inputs'][v] for p in packed])
                        for v in range(2)],
                data_samples=[p['data_samples'] for p in packed])
    return model.data_preprocessor(data, True)


def test_one_step_draws_ids_once_per_view_and_trains_the_online_side(
        monkeypatch):
    model = _tiny_detcon()
    data = _batch(model)
    draws = []
    original = detcon_module.sample_mask_ids

    def counted(grid, num, generator=None):
        ids = original(grid, num, generator)
        draws.append(ids)
        return ids

    monkeypatch.setattr(detcon_module, 'sample_mask_ids', counted)
    losses = model.loss(data['inputs'], data['data_samples'])
    # one draw per view, shared by the online and the target network
    assert len(draws) == 2 and all(d.shape == (4, 5) for d in draws)
    assert ((draws[0] >= 1000) & (draws[0] < 1009)).all()
    assert torch.isfinite(losses['loss'])
    assert losses['momentum'].item() == pytest.approx(0.996)
    assert 1 <= losses['masks_per_view'].item() <= 4  # res5 is 2 x 2 at 64 px
    assert 0 < losses['positive_slots'].item() <= 1
    losses['loss'].backward()
    for name in ('backbone', 'projector', 'predictor'):
        grads = [p.grad for p in getattr(model, name).parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name
    assert all(p.grad is None for p in model.target_net.parameters())
    assert set(model.target) == {'backbone', 'projector'}
    assert int(model.target_net.steps) == 1


def test_missing_label_maps_are_a_clear_error():
    model = _tiny_detcon()
    data = _batch(model, num_images=2)
    for ds in data['data_samples']:
        del ds.region_maps
    with pytest.raises(ValueError, match='region_maps.*mask_key'):
        model.loss(data['inputs'], data['data_samples'])


def test_transfer_map_is_the_backbone():
    from objcon.models.algorithms import DetCon
    assert DetCon.transfer_map(dict(type='DetCon')) == dict(
        backbone=[('backbone.', 'backbone.')])
