# DetCon-B: mmdet's R50 (res5 out, BN in train mode, the last BN of each bottleneck
# zero-initialised as haiku's ResNet, no download); per mask a projector Linear
# 2048-4096 (bias), BN, ReLU, Linear 4096-256 (no bias), and on the online side a
# predictor of the same shape 256-4096-256; 16 mask ids per view; multi-positive
# NCE, tau 0.1, negatives gathered across ranks; EMA target, tau cosine from 0.996
# to 1 over the iterations.
_base_ = ['./pretraining_parts.py']
num_masks = 16
# BYOL's MLP without the last bias
mlp = dict(_base_.byol_mlp, with_last_bias=False)
model = dict(
    type='DetCon',
    data_preprocessor=_base_.selfsup_preprocessor,
    backbone=_base_.resnet50_res5,
    projector=dict(mlp, in_channels=2048, hid_channels=4096, out_channels=256),
    predictor=dict(mlp, in_channels=256, hid_channels=4096, out_channels=256),
    loss=dict(type='MultiPositiveNCELoss', temperature=0.1),
    num_masks=num_masks,
    base_momentum=0.996,
    end_momentum=1.0)
