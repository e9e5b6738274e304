"""ObjectViews and PackObjectViews in a real mmengine pipeline, and the configs."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement, InstanceData

from objcon.datasets import DEMO_CLASSES
from objcon.registry import DATASETS, TRANSFORMS
from objcon.utils import register_all_modules

CONFIGS = ('soco_views_400e', 'soco_views_100e', 'soco_star_views_400e')
SIZES = {'soco_views_400e': [224, 224, 112], 'soco_views_100e': [224, 224, 112],
         'soco_star_views_400e': [224, 224, 192, 112]}


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
        assert [p.views for p in pairs] == [
            tuple(p['views']) for p in cfg.object_views['pairs']]
        for pair in pairs:
            assert isinstance(pair, InstanceData) and len(pair) == 4
            assert pair.boxes_a.dtype == torch.float32 and pair.boxes_a.shape == (4, 4)
            assert pair.boxes_b.dtype == torch.float32 and pair.boxes_b.shape == (4, 4)
            assert pair.ids.dtype == torch.int64 and pair.ids.shape == (4,)
            for boxes, v in ((pair.boxes_a, pair.views[0]),
                             (pair.boxes_b, pair.views[1])):
                s = SIZES[name][v]
                assert (boxes >= 0).all() and (boxes <= s).all()
                assert (boxes[:, 2:] > boxes[:, :2]).all()
            # The demo scenes have objects: ids point at annotation boxes.
            assert (pair.ids >= 0).all()


def test_pack_object_views_fields():
    pack = TRANSFORMS.build(dict(type='PackObjectViews'))
    views = [np.zeros((8, 6, 3), np.uint8), np.ones((4, 4, 3), np.uint8)]
    results = dict(img=views, img_path='x.jpg', ori_shape=(10, 12),
                   view_pairs=[dict(views=(0, 1),
                                    boxes_a=np.array([[0, 0, 6, 8]], np.float32),
                                    boxes_b=np.array([[1, 1, 2, 2]], np.float32),
                                    ids=np.array([-1]))])
    out = pack(results)
    assert [tuple(x.shape) for x in out['inputs']] == [(3, 8, 6), (3, 4, 4)]
    sample = out['data_samples']
    assert sample.img_path == 'x.jpg' and sample.ori_shape == (10, 12)
    pair = sample.view_pairs[0]
    assert pair.views == (0, 1)
    torch.testing.assert_close(pair.boxes_b, torch.tensor([[1., 1., 2., 2.]]))
    assert pair.ids.dtype == torch.int64 and pair.ids.tolist() == [-1]
