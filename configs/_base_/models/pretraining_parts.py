# Parts the pretraining models share, by name (a model config lists this file among
# its bases and picks what it uses):
# - selfsup_preprocessor: mmpretrain's SelfSupDataPreprocessor (one batch per view)
#   with ImageNet's mean and std, BGR images turned RGB;
# - fpn_roi_align: each box pooled on P2..P5 as the detector's RoI extractor does
#   (RoIAlign 7x7, aligned, adaptive sampling); the level is the method's rule;
# - byol_mlp: BYOL's projector/predictor MLP (Linear with bias, BN1d, ReLU, Linear
#   with bias); a model sets its widths;
# - resnet50_res5: mmdet's R50 with res5 out, BN in train mode, the last BN of each
#   block zero-initialised, no download.
selfsup_preprocessor = dict(
    type='mmpretrain.SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
fpn_roi_align = dict(
    type='MultiLevelRoIAlign',
    output_size=7,
    featmap_strides=[4, 8, 16, 32],
    sampling_ratio=0,
    aligned=True)
byol_mlp = dict(
    type='mmpretrain.NonLinearNeck',
    num_layers=2,
    with_bias=True,
    with_last_bias=True,
    with_last_bn=False,
    with_avg_pool=False,
    norm_cfg=dict(type='BN1d'))
resnet50_res5 = dict(
    type='mmdet.ResNet',
    depth=50,
    num_stages=4,
    out_indices=(3, ),
    frozen_stages=-1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=False,
    style='pytorch',
    zero_init_residual=True,
    init_cfg=None)
