# DetCo: mmdet's R50 (res2..res5 out, BN in train mode, MoCo's init: no zero-init
# residual, no ImageNet download) as query encoder, an EMA key encoder with constant
# momentum 0.999 (MoCo); per stage a global head (GAP -> 2048 -> 128) and a local head
# (9 pooled patches concatenated -> 2048 -> 128), InfoNCE tau 0.2 against a global
# and a local queue of 65,536 keys per stage. Unverified (DetCo released no
# pretraining code), objcon's design: stage weights, heads, temperature, l2g's
# direction and negatives (docs/detco.md).
_base_ = ['./pretraining_parts.py']
queue_size = 65536
feat_dim = 128
stage_weights = (0.1, 0.4, 0.7, 1.0)
detco_head = dict(type='ProjectionMLP', hid_channels=2048, out_channels=feat_dim,
                  dropout=0.)
model = dict(
    type='DetCo',
    data_preprocessor=_base_.selfsup_preprocessor,
    backbone=dict(
        type='mmdet.ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        zero_init_residual=False,
        init_cfg=None),
    global_head=detco_head,
    local_head=detco_head,
    in_channels=(256, 512, 1024, 2048),
    stage_weights=stage_weights,
    num_patches=9,
    loss=dict(type='InfoNCELoss', temperature=0.2),
    queue_size=queue_size,
    feat_dim=feat_dim,
    base_momentum=0.999,
    end_momentum=0.999)
