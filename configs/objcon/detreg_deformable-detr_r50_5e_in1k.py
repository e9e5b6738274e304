# DETReg (Bar et al., CVPR 2022) on ImageNet-1k train without labels, 5 epochs, as
# the reference's IN-1k run (configs/DETReg_top30_in.sh): MMDetection's Deformable
# DETR with one "object" class (_base_/models/detreg_deformable-detr_r50.py),
# selective-search targets from the proposal cache (precomputed once, preset
# `detreg`), a frozen self-supervised R50 as the embedding target and the detector's
# fixed backbone, AdamW 2e-4 (wd 1e-4, clip 0.1), batch 24 x 8 GPUs.
#   python tools/precompute_proposals.py data/imagenet/train \
#       data/proposals/imagenet_train_detreg --source detreg --workers 32
#   bash tools/dist_train.sh configs/objcon/detreg_deformable-detr_r50_5e_in1k.py 8 \
#       --cfg-options target_checkpoint=checkpoints/swav_r50.pth
# Named variables: data_root, proposal_cache, target_checkpoint, backbone_lr_mult,
# crop_size.
_base_ = [
    '../_base_/models/detreg_deformable-detr_r50.py',
    '../_base_/datasets/object_crops.py',
]
default_scope = 'objcon'
custom_imports = dict(imports=['objcon'], allow_failed_imports=False)

data_root = 'data/imagenet/'
proposal_cache = 'data/proposals/imagenet_train_detreg'

# The reference's train transform: flip, then multi-scale 320-480 (max side 600)
# or resize 400-600 + crop 384-600 + multi-scale.
scales = [(s, 600) for s in range(320, 481, 32)]
train_pipeline = [
    dict(type='LoadImageOrSkip'),
    dict(type='LoadProposals', cache=proposal_cache, img_root=data_root + 'train',
         min_boxes=2),
    dict(type='ProposalsAsInstances'),
    dict(type='ObjectCrops', size=_base_.crop_size, pipeline=_base_.simclr_colour),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='RandomChoice', transforms=[
        [dict(type='mmdet.RandomChoiceResize', scales=scales, keep_ratio=True)],
        [dict(type='mmdet.RandomChoiceResize',
              scales=[(400, 4200), (500, 4200), (600, 4200)], keep_ratio=True),
         dict(type='mmdet.RandomCrop', crop_type='absolute_range',
              crop_size=(384, 600), allow_negative_crop=True),
         dict(type='mmdet.RandomChoiceResize', scales=scales, keep_ratio=True)],
    ]),
    _base_.pack_inputs,
]
train_dataloader = dict(
    _delete_=True,
    batch_size=24,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='UnlabeledImageDataset', data_root=data_root,
                 data_prefix='train', pipeline=train_pipeline))
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

max_epochs = 5
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[4], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=192)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3))
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='ProgressBarHook'),
    dict(type='InterruptCheckpointHook'),
]
randomness = dict(seed=0)
