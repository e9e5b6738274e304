# CCOP: mmdet's R50 + FPN (BN, P2..P5) as query encoder, an EMA key encoder with
# constant momentum 0.999; image head on res5 (GAP -> 2048-2048 Dropout 0.1 -> 128)
# and RoI head (RoIAlign 7x7 aligned on the SoCo-assigned level, flatten 12544 ->
# 2048 Dropout 0.1 -> 128); InfoNCE tau 0.2 against 65,536-key queues.
_base_ = ['./mask-rcnn_r50_fpn_pretrain.py', './pretraining_parts.py']
queue_size = 65536
feat_dim = 128
model = dict(
    _delete_=True,
    _scope_='objcon',
    type='CCOP',
    data_preprocessor=_base_.selfsup_preprocessor,
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    embedder=dict(
        type='ObjectEmbedder',
        roi_align=_base_.fpn_roi_align,
        trunk=dict(type='FlattenTrunk'),
        projector=dict(type='ProjectionMLP', in_channels=256 * 7 * 7,
                       hid_channels=2048, out_channels=feat_dim, dropout=0.1)),
    image_projector=dict(type='ProjectionMLP', in_channels=2048,
                         hid_channels=2048, out_channels=feat_dim, dropout=0.1,
                         with_avg_pool=True),
    image_loss=dict(type='InfoNCELoss', temperature=0.2),
    object_loss=dict(type='InfoNCELoss', temperature=0.2),
    intra_loss=dict(type='IntraImageMarginLoss', margin=0.4, max_iou=0.05),
    queue_size=queue_size,
    feat_dim=feat_dim,
    num_jitters=10,
    curriculum=dict(iou_floor=(0.8, 0.4), shift=(0.15, 0.6),
                    log_scale=(0.35, 1.4)),
    base_momentum=0.999,
    end_momentum=0.999)
