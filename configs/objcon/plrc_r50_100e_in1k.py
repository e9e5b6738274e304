# PLRC, 100 epochs on ImageNet-1k train (unlabeled: the image folder, no labels),
# 8 GPUs x 32 = 256; no proposals (the regions are a 4 x 4 grid):
#   tools/dist_train.sh configs/objcon/plrc_r50_100e_in1k.py 8
# Named variables: data_root, view_size, region_size, queue_size,
# teacher_warmup_epochs.
_base_ = [
    '../_base_/models/plrc_r50.py',
    '../_base_/datasets/plrc_views.py',
    '../_base_/datasets/imagenet_unlabeled.py',
    '../_base_/schedules/plrc_sgd_100e.py',
    '../_base_/soco_runtime.py',
]
# the distillation's dense maps have the size of the views' label maps
model = dict(dense_size=_base_.region_size)
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    drop_last=True,  # shuffle-BN needs equal batches on every rank
    dataset=dict(pipeline=[dict(type='LoadImageOrSkip'),
                           *_base_.view_pipeline]))
# per-rank BN in the key branch (shuffle-BN); SyncBN would undo the shuffle
sync_bn = None
default_hooks = dict(checkpoint=dict(interval=10))
