# UP-DETR (Dai et al., CVPR 2021) on ImageNet-1k train without labels, 60 epochs,
# lr drop at 40, as the reference's README: MMDetection's DETR with one "object"
# class (_base_/models/updetr_detr_r50.py), 10 random query patches per image
# (sides uniform in [8, side - 8], drawn at every visit), a frozen self-supervised
# R50 (res5) as the patch feature and the detector's fixed backbone, AdamW 1e-4
# (wd 1e-4, clip 0.1), batch 32 x 8 GPUs.
#   bash tools/dist_train.sh configs/objcon/updetr_detr_r50_60e_in1k.py 8 \
#       --cfg-options target_checkpoint=checkpoints/swav_r50.pth
# Named variables: data_root, target_checkpoint, backbone_lr_mult, num_patches,
# crop_size.
_base_ = [
    '../_base_/models/updetr_detr_r50.py',
    '../_base_/datasets/object_crops.py',
]
default_scope = 'objcon'
custom_imports = dict(imports=['objcon'], allow_failed_imports=False)

data_root = 'data/imagenet/'
image_scales = [(s, 1333) for s in range(480, 801, 32)]
train_pipeline = [
    dict(type='LoadImageOrSkip'),
    dict(type='LoadProposals',
         source=dict(type='RandomPatches', num=_base_.num_patches, margin=8)),
    dict(type='ProposalsAsInstances'),
    dict(type='ObjectCrops', size=_base_.crop_size, pipeline=_base_.simclr_colour),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.RandomChoiceResize', scales=image_scales, keep_ratio=True),
    _base_.pack_inputs,
]
train_dataloader = dict(
    _delete_=True,
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='UnlabeledImageDataset', data_root=data_root,
                 data_prefix='train', pipeline=train_pipeline))
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=1e-4),
                     clip_grad=dict(max_norm=0.1, norm_type=2))
max_epochs = 60
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[40], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=256)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3))
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='ProgressBarHook'),
    dict(type='InterruptCheckpointHook'),
]
randomness = dict(seed=0)
