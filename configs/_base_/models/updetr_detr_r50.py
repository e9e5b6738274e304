# UP-DETR on MMDetection's own DETR (its config, unchanged but for one "object"
# class): 100 queries in 10 groups, 6+6 layers (post-norm, as mmdet's), mmdet's
# Hungarian assigner and CE (no-object weight 0.1) / L1 (5) / GIoU (2) losses. The
# frozen target: res5 of a self-supervised ResNet-50 (target_checkpoint; UP-DETR
# uses SwAV), which also initialises the detector's backbone. Named variables
# (--cfg-options NAME=VALUE): target_checkpoint, backbone_lr_mult, num_patches.
_base_ = 'mmdet::detr/detr_r50_8xb2-150e_coco.py'

target_checkpoint = ''
# 0: the detector's backbone stays the target's (the reference freezes it).
backbone_lr_mult = 0.0
num_patches = 10

model = dict(
    _delete_=True,
    _scope_='objcon',
    type='UPDETR',
    detector=dict(
        _base_.model,
        bbox_head=dict(_base_.model.bbox_head, num_classes=1),
        # a fixed backbone is frozen whole (no gradient computed through it)
        backbone=dict(_base_.model.backbone, init_cfg=None,
                      frozen_stages=4 if backbone_lr_mult == 0 else 1)),
    target=dict(
        type='FrozenBackbone',
        backbone=dict(type='mmdet.ResNet', depth=50,
                      norm_cfg=dict(type='BN', requires_grad=False),
                      norm_eval=True, style='pytorch'),
        checkpoint=target_checkpoint,
        stage=3),
    num_patches=num_patches,
    mask_ratio=0.1,
    feature_hidden_channels=256,
    feature_num_layers=2,
    loss_feature_weight=1.0)

optim_wrapper = dict(
    paramwise_cfg=dict(_delete_=True, custom_keys={
        'detector.backbone': dict(lr_mult=backbone_lr_mult, decay_mult=1.0)
    }))
