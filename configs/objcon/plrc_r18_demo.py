# PLRC on the embedded demo scenes, sized for a CPU: the model, losses, queue and
# views of plrc_r50_100e_in1k.py with ResNet-18, narrower heads (512-512-128 point
# projector; 512-512-512-64 dense head with 1024 logits), 96-px views with 12 x 12
# label and dense maps, a small queue and a short schedule (4 epochs; the teacher
# temperature is 0.04 in epoch 0 and 0.07 from epoch 1: a 2-epoch warmup, about 30
# of 100). No proposals: the regions are a 4 x 4 grid.
#   python tools/train.py configs/objcon/plrc_r18_demo.py
# Named variables (--cfg-options NAME=VALUE): data_root, view_size, photometric,
# region_size, queue_size, teacher_warmup_epochs.
_base_ = [
    '../_base_/models/plrc_r50.py',
    '../_base_/datasets/plrc_views.py',
    '../_base_/datasets/demo_unlabeled.py',
    '../_base_/schedules/plrc_sgd_100e.py',
    '../_base_/soco_runtime.py',
]
view_size = 96
# False: the views without their colour, grey, blur and solarize transforms, as
# the tests' short runs (docs/pretraining.md, "Short runs that learn").
photometric = True
region_size = 12
# shorter than the 400 train images (as the MoCo v2 baseline): a longer queue holds
# stale keys of the very images in the batch as negatives
queue_size = 256
teacher_warmup_epochs = 2

model = dict(
    backbone=dict(depth=18),
    point_projector=dict(in_channels=512, hid_channels=512),
    dense_head=dict(in_channels=512, hid_channels=512, bottleneck_channels=64,
                    out_channels=1024),
    distill_loss=dict(warmup_epochs=teacher_warmup_epochs),
    queue_size=queue_size,
    dense_size=region_size)

# the base's views at the demo's sizes
object_views = dict(
    _base_.object_views,
    views=[dict(v, size=view_size, pipeline=v['pipeline'] if photometric else [])
           for v in _base_.object_views['views']],
    region_map=dict(key='region_map', size=region_size),
    backend='cv2')
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageOrSkip'),
        dict(type='GridRegionMap', grid=4, key='region_map'),
        object_views,
        dict(type='PackObjectViews'),
    ]))

# CPU demo: lr 0.03 at batch 16 (not scaled down from 256: a short run must move)
auto_scale_lr = dict(enable=False)
max_epochs = 4
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
sync_bn = None
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs))
env_cfg = dict(cudnn_benchmark=False)
