# DETReg on the embedded demo scenes, sized for a CPU: the model of
# detreg_deformable-detr_r50_5e_in1k.py on the demo's Deformable DETR (ResNet-18,
# 3+3 transformer layers, FFN 512, 100 queries, as the fine-tuning config
# benchmarks/deformable-detr_r18_demo.py: _base_/models/deformable-detr_r18_demo.py),
# images of 160-224 px, 64-px crops and at most 16 boxes. The
# frozen target is res3 of an R18 pretrained on the demo scenes (default: the BYOL
# baseline, configs/baselines/byol_r18_demo.py; any objcon/mmpretrain R18 checkpoint).
# Named variables (--cfg-options NAME=VALUE): data_root, proposal_cache,
# target_checkpoint, backbone_lr_mult, crop_size, num_boxes. Boxes:
#   python tools/precompute_proposals.py data/demo_scenes/train \
#       data/demo_scenes/proposals/train_detreg --source detreg
#   python tools/train.py configs/objcon/detreg_deformable-detr_r18_demo.py
_base_ = [
    './detreg_deformable-detr_r50_5e_in1k.py',
    '../_base_/models/deformable-detr_r18_demo.py',
]

data_root = '{{$OBJCON_DEMO_ROOT:data/demo_scenes}}/'
proposal_cache = data_root + 'proposals/train_detreg'
target_checkpoint = 'work_dirs/byol_r18_demo/epoch_8.pth'
crop_size = 64
num_boxes = 16
image_scales = [(160, 1333), (192, 1333), (224, 1333)]

model = dict(
    detector=_base_.deformable_detr_r18_demo,
    target=dict(backbone=dict(depth=18), checkpoint=target_checkpoint))

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        data_root=data_root,
        pipeline=[
            dict(type='LoadImageOrSkip'),
            dict(type='LoadProposals', cache=proposal_cache,
                 img_root=data_root + 'train', min_boxes=2),
            dict(type='ProposalsAsInstances', max_num=num_boxes),
            dict(type='ObjectCrops', size=crop_size,
                 pipeline=_base_.simclr_colour),
            dict(type='mmdet.RandomFlip', prob=0.5),
            dict(type='mmdet.RandomChoiceResize', scales=image_scales,
                 keep_ratio=True),
            _base_.pack_inputs,
        ]))

# CPU: AdamW 2e-4 for a batch of 8 (no scaling: DETR-family lr is not linear in
# the batch), constant.
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = []
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
