# SoCo-FPN: the backbone and FPN of mmdet's Mask R-CNN, every box pooled on P2..P5
# (RoIAlign 7x7, aligned, adaptive sampling), the Shared4Conv1FC box-head trunk
# with BN, BYOL's projector/predictor (1024-4096-256, 256-4096-256, both Linear
# layers with bias). Initialisation as the reference: FPN convs Kaiming-normal
# (fan_out), trunk/projector/predictor Linear layers PyTorch's default.
_base_ = ['./mask-rcnn_r50_fpn_pretrain.py', './pretraining_parts.py']
norm_cfg = dict(type='BN', requires_grad=True)
mlp = _base_.byol_mlp
model = dict(
    _delete_=True,
    _scope_='objcon',
    type='SoCo',
    data_preprocessor=_base_.selfsup_preprocessor,
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    embedder=dict(
        type='ObjectEmbedder',
        roi_align=_base_.fpn_roi_align,
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
