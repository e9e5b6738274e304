"""ObjectViews and PackObjectViews in a real mmengine pipeline, and the configs."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from objcon.datasets import DEMO_CLASSES
from objcon.registry import DATASETS, TRANSFORMS
from objcon.structures import ViewPairs
from objcon.utils import register_all_modules

CONFIGS = ('soco_views_400e', 'soco_views_100e', 'soco_star_views_400e',
           'soco_c4_views')
SIZES = {'soco_views_400e': [224, 224, 112], 'soco_views_100e': [224, 224, 112],
         'soco_star_views_400e': [224, 224, 192, 112],
         'soco_c4_views': [224, 224]}


class GtAsProposals:
    """Test stand-in for a proposal source: the annotation boxes as proposals."""

    def __call__(self, results):
        results['proposals'] = np.asarray(results.pop('gt_bboxes').numpy(),
                                          np.float32).reshape(-1, 4)
        for key in ('gt_bboxes_labels', 'gt_ignore_flags'):
            results.pop(key, None)
        return results


def view_config(repo_root, name):
    return Config.fromfile(
        osp.join(repo_root, 'configs/_base_/datasets', f'{name}.py'))


@pytest.mark.parametrize('name', CONFIGS)
def test_pipeline_on_demo_jpegs(tiny_demo_root, repo_root, name):
    cfg = view_config(repo_root, name)
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True),
                GtAsProposals(), *cfg.view_pipeline]
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('objcon'):
        dataset = DATASETS.build(dict(
            type='CocoDataset', data_root=tiny_demo_root,
            ann_file='annotations/instances_train.json',
            metainfo=dict(classes=DEMO_CLASSES), data_prefix=dict(img='train/'),
            filter_cfg=None, pipeline=pipeline))
        np.random.seed(0)
        samples = [dataset[i] for i in range(3)]
    # mmengine's collate transposes the per-sample view lists: one list per view.
    batch = pseudo_collate(samples)
    assert len(batch['inputs']) == len(SIZES[name])
    assert all(len(per_view) == 3 for per_view in batch['inputs'])
    assert len(batch['data_samples']) == 3
    for sample in samples:
        inputs, data_sample = sample['inputs'], sample['data_samples']
        assert [tuple(x.shape) for x in inputs] == [(3, s, s) for s in SIZES[name]]
        assert all(x.dtype == torch.uint8 for x in inputs)
        assert isinstance(data_sample, BaseDataElement)
        assert data_sample.img_path.endswith('.jpg')
        assert tuple(data_sample.ori_shape) == (128, 128)
        assert len(data_sample.view_params) == len(SIZES[name])
        pairs = data_sample.view_pairs
        assert isinstance(pairs, ViewPairs)
        assert list(pairs.views) == [
            tuple(p['views']) for p in cfg.object_views['pairs']]
        num_pairs = len(pairs)
        assert pairs.boxes_a.dtype == pairs.boxes_b.dtype == torch.float32
        assert pairs.boxes_a.shape == pairs.boxes_b.shape == (num_pairs, 4, 4)
        assert pairs.ids_a.dtype == pairs.ids_b.dtype == torch.int64
        assert pairs.ids_a.shape == pairs.ids_b.shape == (num_pairs, 4)
        for i, (a, b) in enumerate(pairs.views):
            for boxes, v in ((pairs.boxes_a[i], a), (pairs.boxes_b[i], b)):
                s = SIZES[name][v]
                assert (boxes >= 0).all() and (boxes <= s).all()
                assert (boxes[:, 2:] > boxes[:, :2]).all()
        # The demo scenes have objects: ids point at annotation boxes.
        assert (pairs.ids_a >= 0).all() and (pairs.ids_b >= 0).all()


def test_pack_object_views_fields():
    pack = TRANSFORMS.build(dict(type='PackObjectViews'))
    views = [np.zeros((8, 6, 3), np.uint8), np.ones((4, 4, 3), np.uint8)]
    results = dict(img=views, img_path='x.jpg', ori_shape=(10, 12),
                   view_pairs=ViewPairs.from_slots([(0, 1)], [(
                       np.array([[0, 0, 6, 8]]), np.array([-1]),
                       np.array([[1, 1, 2, 2]]), np.array([-1]))]))
    out = pack(results)
    assert [tuple(x.shape) for x in out['inputs']] == [(3, 8, 6), (3, 4, 4)]
    sample = out['data_samples']
    assert sample.img_path == 'x.jpg' and sample.ori_shape == (10, 12)
    pairs = sample.view_pairs
    assert pairs.views == ((0, 1), )
    torch.testing.assert_close(pairs.boxes_b, torch.tensor([[[1., 1., 2., 2.]]]))
    assert pairs.ids_b.dtype == torch.int64 and pairs.ids_b.tolist() == [[-1]]
    # the data preprocessor moves the structure with the sample
    moved = sample.to('cpu', non_blocking=False).view_pairs
    assert isinstance(moved, ViewPairs) and moved.views == pairs.views
