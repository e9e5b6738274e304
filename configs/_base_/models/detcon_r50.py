# DetCon-B: mmdet's R50 (res5 out, BN in train mode, the last BN of each bottleneck
# zero-initialised as haiku's ResNet, no download); per mask a projector Linear
# 2048-4096 (bias), BN, ReLU, Linear 4096-256 (no bias), and on the online side a
# predictor of the same shape 256-4096-256; 16 mask ids per view; multi-positive
# NCE, tau 0.1, negatives gathered across ranks; EMA target, tau cosine from 0.996
# to 1 over the iterations.
num_masks = 16
mlp = dict(
    type='mmpretrain.NonLinearNeck',
    num_layers=2,
    with_bias=True,
    with_last_bias=False,
    with_last_bn=False,
    with_avg_pool=False,
    norm_cfg=dict(type='BN1d'))
model = dict(
    type='DetCon',
    data_preprocessor=dict(
        type='mmpretrain.SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='mmdet.ResNet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        zero_init_residual=True,
        init_cfg=None),
    projector=dict(mlp, in_channels=2048, hid_channels=4096, out_channels=256),
    predictor=dict(mlp, in_channels=256, hid_channels=4096, out_channels=256),
    loss=dict(type='MultiPositiveNCELoss', temperature=0.1),
    num_masks=num_masks,
    base_momentum=0.996,
    end_momentum=1.0)
