# DetCo on the embedded demo scenes, sized for a CPU: the model, losses, queues and
# views of detco_r50_200e_in1k.py with ResNet-18 (and its stage widths), narrower
# heads, 128-px views with 36-px patches (0.85 of a 43-px cell), queues shorter
# than the data set and a short schedule. No proposals are needed.
# Named variables (--cfg-options NAME=VALUE): data_root, view_size, photometric,
# patch_size, queue_size.
#   python tools/train.py configs/objcon/detco_r18_demo.py
_base_ = [
    '../_base_/models/detco_r50.py',
    '../_base_/datasets/detco_views.py',
    '../_base_/datasets/demo_unlabeled.py',
    '../_base_/schedules/detco_sgd_200e.py',
    '../_base_/soco_runtime.py',
]
view_size = 128
# False: the views without their colour, grey, blur and solarize transforms, as
# the tests' short runs (docs/pretraining.md, "Short runs that learn").
photometric = True
patch_size = 36
# 400 train images: a queue longer than the data set would hold stale keys of the
# very images in the batch as negatives.
queue_size = 256

model = dict(
    backbone=dict(depth=18),
    in_channels=(64, 128, 256, 512),
    global_head=dict(hid_channels=512),
    local_head=dict(hid_channels=512),
    queue_size=queue_size)

# the base's views at the demo's sizes
object_views = dict(
    _base_.object_views,
    views=[dict(v, size=patch_size if v.get('cell') else view_size,
                pipeline=v['pipeline'] if photometric else [])
           for v in _base_.object_views['views']],
    backend='cv2')
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageOrSkip'),
        object_views,
        dict(type='PackObjectViews'),
    ]))

# CPU: lr = 0.03 x 16 / 256 through auto_scale_lr.
max_epochs = 8
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
