# mmpretrain's BYOL (its algorithm, neck, head and loss: reused, not rewritten) on
# the embedded demo scenes, sized like configs/objcon/soco_r18_fpn_demo.py: the same
# ResNet-18, 128 px views, batch 16 and schedule length, so that rows of the
# benchmark differ by method only. Transfer: tools/convert_to_mmdet.py --part backbone.
#   python tools/train.py configs/baselines/byol_r18_demo.py
_base_ = 'mmpretrain::byol/byol_resnet50_16xb256-coslr-200e_in1k.py'
data_root = '{{$OBJCON_DEMO_ROOT:data/demo_scenes}}/'
view_size = 128

model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN')),
    # SoCo demo's projector/predictor widths (512 -> 1024 -> 128)
    neck=dict(in_channels=512, hid_channels=1024, out_channels=128),
    head=dict(predictor=dict(in_channels=128, hid_channels=1024, out_channels=128)))

# BYOL's two asymmetric views (mmpretrain's recipe) at 128 px.
_colour = [
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                          saturation=0.2, hue=0.1)],
         prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
]
_crop = [dict(type='RandomResizedCrop', scale=view_size, interpolation='bicubic',
              backend='pillow'),
         dict(type='RandomFlip', prob=0.5)]
view_pipeline1 = _crop + _colour + [
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf',
         prob=1.),
    dict(type='Solarize', thr=128, prob=0.)]
view_pipeline2 = _crop + _colour + [
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf',
         prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2)]
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
            dict(type='MultiView', num_views=[1, 1],
                 transforms=[view_pipeline1, view_pipeline2]),
            dict(type='PackInputs')
        ]))

# BYOL's LARS at lr 4.8 per 4096 images, scaled linearly to batch 16; warm-up 1
# epoch then cosine, per iteration, as the SoCo demo config.
optim_wrapper = dict(optimizer=dict(lr=4.8 * 16 / 4096))
max_epochs = 8
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1,
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
