# objcon's embedded demo scenes (python tools/make_demo_data.py) as an mmdet
# instance-segmentation dataset: COCO json, loaded by mmdet's CocoDataset unchanged.
_base_ = 'mmdet::_base_/datasets/coco_instance.py'

dataset_type = 'CocoDataset'
# Override the location with the environment: OBJCON_DEMO_ROOT=/path/to/scenes
data_root = '{{$OBJCON_DEMO_ROOT:data/demo_scenes}}/'
image_size = (256, 256)
# The training labels; an absolute path (e.g. a label subset) is used as given,
# a relative one is under data_root.
train_ann_file = 'annotations/instances_train.json'
metainfo = dict(
    classes=('circle', 'rectangle', 'triangle', 'star', 'hexagon', 'cross'),
    palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75), (255, 225, 25),
             (145, 30, 180), (245, 130, 48)])
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    # iteration-based fine-tuning: an exhausted DefaultSampler makes mmengine's
    # loop sleep 2 s before restarting it, every 2 iterations on a 6-image set
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file=train_ann_file,
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=8),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric=['bbox', 'segm'],
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
