# CCOP on the embedded demo scenes, sized for a CPU: the model, losses, queues,
# curriculum and views of ccop_r50_fpn_800e_coco.py with ResNet-18, a narrower FPN
# and heads, 128-px views (the model scales the level thresholds to them), small
# queues and a short schedule. Named variables (--cfg-options NAME=VALUE): data_root,
# proposal_cache, view_size, photometric, queue_size. Boxes: CCOP's selective
# search, precomputed into the dataset folder:
#   python tools/precompute_proposals.py data/demo_scenes/train \
#       data/demo_scenes/proposals/train_ccop --source ccop
#   python tools/train.py configs/objcon/ccop_r18_fpn_demo.py
_base_ = [
    '../_base_/models/ccop_r50_fpn.py',
    '../_base_/datasets/ccop_views.py',
    '../_base_/datasets/demo_unlabeled.py',
    '../_base_/schedules/ccop_sgd_800e.py',
    '../_base_/soco_runtime.py',
]
proposal_cache = _base_.data_root + 'proposals/train_ccop'
view_size = 128
# False: the views without their colour, grey, blur and solarize transforms, as
# the tests' short runs (docs/pretraining.md, "Short runs that learn").
photometric = True
queue_size = 256
num_boxes = 8

c = 128  # FPN width (256 in CCOP), as the demo detector (mask-rcnn_r18_fpn_demo.py)
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=c),
    embedder=dict(projector=dict(in_channels=c * 7 * 7, hid_channels=512)),
    image_projector=dict(in_channels=512, hid_channels=512),
    queue_size=queue_size)

# the base's views and box rules at the demo's size and box count
object_views = dict(
    _base_.object_views,
    views=[dict(v, size=view_size, pipeline=v['pipeline'] if photometric else [])
           for v in _base_.object_views['views']],
    num_boxes=num_boxes,
    backend='cv2')
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageOrSkip'),
        dict(type='LoadProposals', cache=proposal_cache,
             img_root=_base_.data_root + 'train'),
        object_views,
        dict(type='PackObjectViews'),
    ]))

# CPU: lr = 0.3 x 16 / 256 through auto_scale_lr.
max_epochs = 8
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0.,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
sync_bn = None
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=max_epochs))
env_cfg = dict(cudnn_benchmark=False)
