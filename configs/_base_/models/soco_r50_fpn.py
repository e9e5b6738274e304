# SoCo-FPN: the backbone and FPN of mmdet's Mask R-CNN, every box pooled on P2..P5
# (RoIAlign 7x7, aligned, adaptive sampling), the Shared4Conv1FC box-head trunk
# with BN, BYOL's projector/predictor (1024-4096-256, 256-4096-256, both Linear
# layers with bias). Initialisation as the reference: FPN convs Kaiming-normal
# (fan_out), trunk/projector/predictor Linear layers PyTorch's default.
_base_ = './mask-rcnn_r50_fpn_pretrain.py'
norm_cfg = dict(type='BN', requires_grad=True)
mlp = dict(
    type='mmpretrain.NonLinearNeck',
    num_layers=2,
    with_bias=True,
    with_last_bias=True,
    with_last_bn=False,
    with_avg_pool=False,
    norm_cfg=dict(type='BN1d'))
model = dict(
    _delete_=True,
    _scope_='objcon',
    type='SoCo',
    data_preprocessor=dict(
        type='mmpretrain.SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    embedder=dict(
        type='ObjectEmbedder',
        roi_align=dict(
            type='MultiLevelRoIAlign',
            output_size=7,
            featmap_strides=[4, 8, 16, 32],
            sampling_ratio=0,
            aligned=True),
        trunk=dict(
            type='SharedConvFCTrunk',
            in_channels=256,
            roi_feat_size=7,
            num_convs=4,
            conv_out_channels=256,
            num_fcs=1,
            fc_out_channels=1024,
            norm_cfg=norm_cfg,
            init_cfg=None),
        projector=dict(mlp, in_channels=1024, hid_channels=4096, out_channels=256)),
    head=dict(
        type='ObjectPredictHead',
        predictor=dict(mlp, in_channels=256, hid_channels=4096, out_channels=256),
        loss=dict(type='CorrespondenceCosineLoss')),
    base_momentum=0.99)
