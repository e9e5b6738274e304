# SoCo-FPN on the embedded demo scenes, sized for a CPU: the same model, loss, EMA,
# optimiser and view machinery as soco_r50_fpn_400e.py with ResNet-18, narrower
# FPN/head/MLPs, 128/128/64 views (the model scales the level thresholds with
# them) and a short schedule. Named variables (--cfg-options NAME=VALUE):
# data_root, proposal_cache, view_size, small_view_size. Boxes: SoCo's selective search, precomputed into the dataset folder:
#   python tools/precompute_proposals.py data/demo_scenes/train \
#       data/demo_scenes/proposals/train_soco --source soco
#   python tools/train.py configs/objcon/soco_r18_fpn_demo.py
_base_ = [
    '../_base_/models/soco_r50_fpn.py',
    '../_base_/datasets/soco_views_400e.py',
    '../_base_/datasets/demo_unlabeled.py',
    '../_base_/schedules/soco_lars_400e.py',
    '../_base_/soco_runtime.py',
]
proposal_cache = _base_.data_root + 'proposals/train_soco'
view_size = 128  # V1, V2
small_view_size = 64  # V3

c = 128  # FPN / trunk width (256 in SoCo)
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=c),
    embedder=dict(
        trunk=dict(in_channels=c, conv_out_channels=c, fc_out_channels=512),
        projector=dict(in_channels=512, hid_channels=1024, out_channels=128)),
    head=dict(predictor=dict(in_channels=128, hid_channels=1024, out_channels=128)))

# the base's views (V1, V2, V3) at the demo's sizes
object_views = dict(
    _base_.object_views,
    views=[dict(v, size=size) for v, size in zip(
        _base_.object_views['views'], (view_size, view_size, small_view_size))],
    backend='cv2')
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageOrSkip'),
        dict(type='LoadProposals', cache=proposal_cache,
             img_root=_base_.data_root + 'train'),
        object_views,
        dict(type='PackObjectViews'),
    ]))

# CPU: no AMP; lr = 1.0 x 16 / 256 through auto_scale_lr.
optim_wrapper = dict(type='OptimWrapper', _delete_=True,
                     optimizer=dict(type='SoCoLARS', lr=1.0, momentum=0.9,
                                    weight_decay=1e-5, eta=0.001))
max_epochs = 8
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-6,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs))
env_cfg = dict(cudnn_benchmark=False)
