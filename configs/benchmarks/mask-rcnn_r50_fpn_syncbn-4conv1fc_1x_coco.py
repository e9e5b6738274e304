# COCO Mask R-CNN R50-FPN 1x in the protocol of SoCo's transfer results: SyncBN in
# backbone, FPN and heads, 4conv1fc box head, no frozen stages, multi-scale 640-800.
# Pretrained weights: --cfg-options load_from=<tools/convert_to_mmdet.py output>.
#   tools/dist_train.sh configs/benchmarks/mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco.py 8
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['objcon'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False, init_cfg=None),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
            norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomChoiceResize',
         scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736),
                 (1333, 768), (1333, 800)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [dict(type='objcon.NonFiniteLossHook')]
