# Deformable DETR R18 fine-tuned on the demo scenes, on a CPU: the detection
# benchmark of DETReg / UP-DETR on the embedded data. The model is mmdet's own
# Deformable DETR config with the demo's sizes (as the DETReg demo pretraining:
# _base_/models/deformable-detr_r18_demo.py) and the 6 demo classes; boxes only.
#   python tools/train.py configs/benchmarks/deformable-detr_r18_demo.py
#   python tools/convert_to_mmdet.py PRETRAIN.pth detreg_mmdet.pth --part head \
#       --config configs/benchmarks/deformable-detr_r18_demo.py
#   python tools/train.py ... --cfg-options load_from=detreg_mmdet.pth
# Named variables (--cfg-options NAME=VALUE): image_size, train_ann_file.
_base_ = [
    'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py',
    '../_base_/models/deformable-detr_r18_demo.py',
]
custom_imports = dict(imports=['objcon'], allow_failed_imports=False)

data_root = '{{$OBJCON_DEMO_ROOT:data/demo_scenes}}/'
metainfo = dict(
    classes=('circle', 'rectangle', 'triangle', 'star', 'hexagon', 'cross'),
    palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75), (255, 225, 25),
             (145, 30, 180), (245, 130, 48)])
image_size = (256, 256)
# The training labels; an absolute path (e.g. a label subset) is used as given,
# a relative one is under data_root.
train_ann_file = 'annotations/instances_train.json'

model = dict(
    _base_.deformable_detr_r18_demo,
    # scratch unless a pretrained detector is loaded; BN trained (small batches
    # of one domain)
    backbone=dict(_base_.deformable_detr_r18_demo.backbone, frozen_stages=-1,
                  norm_eval=False, norm_cfg=dict(type='BN', requires_grad=True)),
    bbox_head=dict(num_classes=len(metainfo['classes'])))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    # iteration-based: an exhausted DefaultSampler makes mmengine's loop sleep 2 s
    # before restarting it
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root, metainfo=metainfo,
        ann_file=train_ann_file,
        data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

max_iters = 300
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[int(max_iters * 0.8)], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=4)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
custom_hooks = [
    dict(type='objcon.NonFiniteLossHook'),
    dict(type='objcon.ProgressBarHook')
]
randomness = dict(seed=0)
