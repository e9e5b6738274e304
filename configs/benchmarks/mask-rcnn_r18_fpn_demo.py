# Mask R-CNN R18-FPN fine-tuned on the demo scenes, on a CPU, in minutes: the
# detection benchmark of the embedded data. The model is mmdet's own Mask R-CNN
# config; only depth, classes, resolution and schedule change.
#   python tools/train.py configs/benchmarks/mask-rcnn_r18_fpn_demo.py
#   python tools/train.py ... --cfg-options load_from=<converted pretrain ckpt>
#   python tools/train.py ... --cfg-options frozen_modules="[backbone,neck]"
# (the bases of mmdet's mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py, COCO swapped for
# the demo scenes)
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/demo_scenes_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['objcon'], allow_failed_imports=False)

norm_cfg = dict(type='BN', requires_grad=True)
c = 128
model = dict(
    backbone=dict(
        depth=18,
        norm_cfg=norm_cfg,
        norm_eval=False,
        frozen_stages=-1,
        zero_init_residual=False,
        init_cfg=None),  # scratch unless a pretrain checkpoint is loaded
    # 128-wide FPN and heads, as the demo pretraining (configs/objcon/*_demo.py)
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=c),
    rpn_head=dict(in_channels=c, feat_channels=c),
    roi_head=dict(
        # Fixed 2x2 samples per bin instead of mmdet's adaptive count (up to 64
        # for a large RoI on P2): mmcv's single-threaded CPU RoIAlign backward
        # was ~30% of a step; with 64 sampled RoIs the step is 1.5 s -> 1.0 s.
        bbox_roi_extractor=dict(out_channels=c,
                                roi_layer=dict(sampling_ratio=2)),
        bbox_head=dict(in_channels=c, num_classes=6),
        mask_roi_extractor=dict(out_channels=c,
                                roi_layer=dict(sampling_ratio=2)),
        mask_head=dict(in_channels=c, conv_out_channels=c, num_classes=6)),
    # A demo scene holds <= 7 objects: fewer proposals and sampled RoIs keep
    # RoIAlign (the CPU bottleneck) cheap without starving the heads.
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=300),
        rcnn=dict(max_per_img=50)))

max_iters = 300
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[int(max_iters * 0.75), int(max_iters * 0.9)],
        gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=4)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False)
# Submodules trained frozen (weights and BN statistics), e.g. ['backbone', 'neck']
# to train only the RPN and RoI heads on a pretrained representation.
frozen_modules = []
custom_hooks = [
    dict(type='objcon.NonFiniteLossHook'),
    dict(type='objcon.ProgressBarHook'),
    dict(type='objcon.FreezeModulesHook', modules=frozen_modules)
]
# DDP (tools/dist_train.sh) must not wait for gradients of frozen parameters
find_unused_parameters = len(frozen_modules) > 0
randomness = dict(seed=0)
