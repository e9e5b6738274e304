# PLRC: mmdet's R50 (every stage trains, BN in train mode, the last BN of each
# bottleneck zero-initialised, no download) with two per-position heads on res5:
# the point projector 2048-2048-128 (no BN; its spatial mean is the image vector)
# and the DINO-style dense head 2048-2048-BN-ReLU-2048-BN-ReLU-256, L2-normalised,
# weight-normed Linear 256 -> 4096 without bias. EMA key encoder, momentum 0.999.
# Losses: image InfoNCE (tau 0.2, 65,536-key queue), point SupCon (tau 0.2, scale
# 0.2 / 0.07), point-affinity distillation (teacher 0.04 -> 0.07 over 30 epochs,
# student 0.1, centre EMA 0.9) on 56 x 56 maps; total as the published code:
# L_image + 0.7 (0.3 L_distill + 0.3 L_point).
_base_ = ['./pretraining_parts.py']
queue_size = 65536
feat_dim = 128
teacher_warmup_epochs = 30
model = dict(
    type='PLRC',
    data_preprocessor=_base_.selfsup_preprocessor,
    backbone=_base_.resnet50_res5,
    point_projector=dict(type='ProjectionMLP', in_channels=2048,
                         hid_channels=2048, out_channels=feat_dim, dropout=0.),
    dense_head=dict(type='DINOProjectionHead', in_channels=2048,
                    hid_channels=2048, bottleneck_channels=256,
                    out_channels=4096, num_layers=3, with_bn=True),
    image_loss=dict(type='InfoNCELoss', temperature=0.2),
    point_loss=dict(type='SupConLoss', temperature=0.2, base_temperature=0.07,
                    loss_weight=0.7 * 0.3),
    distill_loss=dict(type='CentredDistillationLoss', student_temperature=0.1,
                      teacher_temperature=(0.04, 0.07),
                      warmup_epochs=teacher_warmup_epochs, centre_momentum=0.9,
                      loss_weight=0.7 * 0.3),
    queue_size=queue_size,
    feat_dim=feat_dim,
    num_points=16,
    dense_size=56,  # method configs tie it to the views' region_size
    pair_distance=0.5,
    affinity_scale=1. / 128,
    base_momentum=0.999,
    end_momentum=0.999)
