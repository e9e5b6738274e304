# DETReg on MMDetection's own Deformable DETR (its config, unchanged but for one
# "object" class): 300 queries, 6+6 layers, FFN 1024, aux losses per decoder layer,
# mmdet's Hungarian assigner and focal (2) / L1 (5) / GIoU (2) losses, AdamW 2e-4,
# wd 1e-4, grad clip 0.1. The frozen target: res3 of a self-supervised ResNet-50
# (target_checkpoint: an objcon or mmpretrain checkpoint; DETReg uses SwAV), which
# also initialises the detector's backbone. Named variables (--cfg-options
# NAME=VALUE): target_checkpoint, backbone_lr_mult.
_base_ = 'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py'

target_checkpoint = ''
# 0: the detector's backbone stays the target's (the reference: lr_backbone 0).
backbone_lr_mult = 0.0

target_backbone = dict(
    type='mmdet.ResNet', depth=50, norm_cfg=dict(type='BN', requires_grad=False),
    norm_eval=True, style='pytorch')
model = dict(
    _delete_=True,
    _scope_='objcon',
    type='DETReg',
    detector=dict(
        _base_.model,
        bbox_head=dict(_base_.model.bbox_head, num_classes=1),
        # a fixed backbone is frozen whole (no gradient computed through it)
        backbone=dict(_base_.model.backbone, init_cfg=None,
                      frozen_stages=4 if backbone_lr_mult == 0 else 1)),
    target=dict(type='FrozenBackbone', backbone=target_backbone,
                checkpoint=target_checkpoint, stage=1),
    embed_hidden_channels=256,
    embed_num_layers=2,
    loss_embed=dict(type='mmdet.L1Loss', loss_weight=1.0))

optim_wrapper = dict(
    paramwise_cfg=dict(_delete_=True, custom_keys={
        'detector.backbone': dict(lr_mult=backbone_lr_mult),
        'sampling_offsets': dict(lr_mult=0.1),
        'reference_points': dict(lr_mult=0.1)
    }))
