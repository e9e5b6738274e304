# SoCo-C4: RoIAlign 14x14 on C4 (stride 16), then res5 (mmdet's ResLayer, the C4
# Mask R-CNN's shared head) and global average pooling -> 2048-d, BYOL projector
# 2048-4096-256 and predictor (both Linear layers with bias); one level, no FPN.
_base_ = ['./mask-rcnn_r50_c4_pretrain.py', './pretraining_parts.py']
mlp = _base_.byol_mlp
model = dict(
    _delete_=True,
    _scope_='objcon',
    type='SoCo',
    data_preprocessor=_base_.selfsup_preprocessor,
    backbone={{_base_.model.backbone}},
    neck=None,
    embedder=dict(
        type='ObjectEmbedder',
        roi_align=dict(
            type='MultiLevelRoIAlign',
            output_size=14,
            featmap_strides=[16],
            sampling_ratio=0,
            aligned=True),
        trunk=dict(
            type='ResLayerTrunk', res_layer={{_base_.model.roi_head.shared_head}}),
        projector=dict(mlp, in_channels=2048, hid_channels=4096, out_channels=256)),
    head=dict(
        type='ObjectPredictHead',
        predictor=dict(mlp, in_channels=256, hid_channels=4096, out_channels=256),
        loss=dict(type='CorrespondenceCosineLoss')),
    base_momentum=0.99)
