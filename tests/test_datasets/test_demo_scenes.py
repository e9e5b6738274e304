import hashlib
import json
import os
import os.path as osp

import numpy as np
import pytest

from objcon.datasets import DEMO_CLASSES, generate_demo_scenes
from objcon.datasets.demo_scenes import mask_to_annotation


def _digest(root):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            with open(osp.join(dirpath, name), 'rb') as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()


def test_same_seed_gives_byte_identical_files(tmp_path):
    a, b, c = tmp_path / 'a', tmp_path / 'b', tmp_path / 'c'
    for root, seed in ((a, 3), (b, 3), (c, 4)):
        generate_demo_scenes(str(root), dict(train=4, val=2), seed=seed,
                             image_size=(96, 96), show_progress=False)
    ann = 'annotations/instances_train.json'
    assert (a / ann).read_bytes() == (b / ann).read_bytes()
    assert _digest(a) == _digest(b)
    assert (a / ann).read_bytes() != (c / ann).read_bytes()


def test_pycocotools_loads_and_annotations_are_consistent(tiny_demo_root):
    from pycocotools.coco import COCO
    from pycocotools import mask as mask_utils
    coco = COCO(osp.join(tiny_demo_root, 'annotations/instances_val.json'))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == \
        list(DEMO_CLASSES)
    assert len(coco.getImgIds()) == 6
    per_image = [len(coco.getAnnIds(imgIds=i)) for i in coco.getImgIds()]
    assert sum(per_image) >= 6 and max(per_image) >= 2  # several objects
    for ann in coco.loadAnns(coco.getAnnIds()):
        img = coco.imgs[ann['image_id']]
        x, y, w, h = ann['bbox']
        assert 0 <= x and 0 <= y and x + w <= img['width'] \
            and y + h <= img['height']
        rle = coco.annToRLE(ann)
        # The mask is the visible region the bbox and area were computed from.
        assert mask_utils.toBbox(rle).tolist() == [x, y, w, h]
        assert mask_utils.area(rle) == ann['area'] > 0
        assert ann['iscrowd'] == 0
    # Images decode at the size the json states.
    import cv2
    first = coco.imgs[coco.getImgIds()[0]]
    im = cv2.imread(osp.join(tiny_demo_root, 'val', first['file_name']))
    assert im.shape == (first['height'], first['width'], 3)


def test_mmdet_coco_dataset_loads_unchanged(tiny_demo_root):
    from mmdet.datasets import CocoDataset
    from objcon.utils import register_all_modules
    register_all_modules()
    ds = CocoDataset(
        data_root=tiny_demo_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        metainfo=dict(classes=DEMO_CLASSES),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='PackDetInputs')
        ])
    assert len(ds) > 0
    sample = ds[0]
    inst = sample['data_samples'].gt_instances
    assert sample['inputs'].shape[0] == 3
    assert len(inst) > 0 and inst.masks.masks.shape[0] == len(inst)
    assert int(inst.labels.max()) < len(DEMO_CLASSES)


def test_mask_to_annotation_on_a_hand_made_mask():
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:9] = True
    ann = mask_to_annotation(mask)
    assert ann['bbox'] == [3, 2, 6, 3]
    assert ann['area'] == 18
    assert mask_to_annotation(np.zeros((4, 4), bool)) is None


@pytest.mark.parametrize('kwargs', [
    dict(splits=dict(train=0)),
    dict(image_size=(16, 16)),
])
def test_bad_arguments_are_refused(tmp_path, kwargs):
    with pytest.raises(ValueError):
        generate_demo_scenes(str(tmp_path), show_progress=False, **kwargs)
