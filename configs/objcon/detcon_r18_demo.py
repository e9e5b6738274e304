# DetCon-B on the embedded demo scenes, sized for a CPU: the model, loss, EMA,
# optimiser and views of detcon_r50_1000e_in1k.py with ResNet-18, narrower MLPs
# (512-1024-128 projector, 128-1024-128 predictor), 128-px views (res5 4 x 4) and a
# short schedule (8 epochs, 1 of warmup). Masks: FH with DetCon's preset,
# precomputed into the dataset folder:
#   python tools/precompute_proposals.py data/demo_scenes/train \
#       data/demo_scenes/proposals/train_detcon --source detcon
#   python tools/train.py configs/objcon/detcon_r18_demo.py
# Named variables (--cfg-options NAME=VALUE): data_root, batch_size, num_workers,
# proposal_cache, view_size, photometric, num_masks.
_base_ = [
    '../_base_/models/detcon_r50.py',
    '../_base_/datasets/detcon_views.py',
    '../_base_/datasets/demo_unlabeled.py',
    '../_base_/schedules/detcon_lars_1000e.py',
    '../_base_/soco_runtime.py',
]
proposal_cache = _base_.data_root + 'proposals/train_detcon'
view_size = 128
# False: the views without their colour, grey, blur and solarize transforms, as
# the tests' short runs (docs/pretraining.md, "Short runs that learn").
photometric = True

model = dict(
    backbone=dict(depth=18),
    projector=dict(in_channels=512, hid_channels=1024, out_channels=128),
    predictor=dict(in_channels=128, hid_channels=1024, out_channels=128))

# the base's views at the demo's size
object_views = dict(
    _base_.object_views,
    views=[dict(v, size=view_size, pipeline=v['pipeline'] if photometric else [])
           for v in _base_.object_views['views']],
    region_map=dict(key='region_map', size=view_size),
    backend='cv2')
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageOrSkip'),
        dict(type='LoadProposals', cache=proposal_cache,
             img_root=_base_.data_root + 'train', mask_key='region_map'),
        object_views,
        dict(type='PackObjectViews'),
    ]))

# CPU: no AMP; lr 0.2 at batch 16 (not scaled down from 256: a short run must move)
optim_wrapper = dict(type='OptimWrapper', _delete_=True,
                     optimizer=dict(type='SoCoLARS', lr=0.2, momentum=0.9,
                                    weight_decay=1.5e-6, eta=0.001))
auto_scale_lr = dict(enable=False)
max_epochs = 8
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
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
