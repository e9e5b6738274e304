# mmdet's Mask R-CNN R50-FPN, set up to be pretrained rather than fine-tuned:
# every stage trains (no frozen stem, BN in train mode), the last BN of each
# bottleneck starts at zero, no ImageNet download, and the FPN emits P2..P5 with BN
# on its lateral and output convs (conv bias off, no activation, nearest upsampling:
# mmdet's defaults), as SoCo's reference network, whose FPN convs start
# Kaiming-normal (fan_out) where mmdet's start Xavier-uniform.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        zero_init_residual=True,
        init_cfg=None),
    neck=dict(
        num_outs=4,
        norm_cfg=norm_cfg,
        init_cfg=dict(type='Kaiming', layer='Conv2d', mode='fan_out',
                      nonlinearity='relu', distribution='normal')))
