# mmpretrain's MoCo v2 (reused as is) on the embedded demo scenes, sized like
# configs/objcon/soco_r18_fpn_demo.py (ResNet-18, 128 px views, batch 16, same
# schedule length). Transfer: tools/convert_to_mmdet.py --part backbone.
#   python tools/train.py configs/baselines/mocov2_r18_demo.py
_base_ = 'mmpretrain::mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py'
data_root = '{{$OBJCON_DEMO_ROOT:data/demo_scenes}}/'
view_size = 128

model = dict(
    # 400 train images: a queue longer than the data set would hold stale keys
    # of the very images in the batch as negatives.
    queue_len=256,
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=1024, out_channels=128))

view_pipeline = [
    dict(type='RandomResizedCrop', scale=view_size, crop_ratio_range=(0.2, 1.),
         backend='pillow'),
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                          saturation=0.4, hue=0.1)],
         prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf',
         prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    drop_last=True,
    # a collate_fn from an mmpretrain:: base carries a _scope_ key the Runner
    # would pass to the function
    collate_fn=dict(_delete_=True, type='default_collate'),
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        with_label=False,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
            dict(type='PackInputs')
        ]))

# MoCo v2's SGD at lr 0.03 per 256 images, scaled linearly to batch 16.
optim_wrapper = dict(optimizer=dict(lr=0.03 * 16 / 256))
max_epochs = 8
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
custom_hooks = [dict(type='NonFiniteLossHook'),
                dict(type='ProgressBarHook'),
                dict(type='InterruptCheckpointHook')]
custom_imports = dict(imports=['objcon.engine.hooks'], allow_failed_imports=False)
randomness = dict(seed=0)
