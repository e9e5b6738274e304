# DetCo, 200 epochs on ImageNet-1k train (unlabeled: the image folder only, no
# labels and no proposals are read), 8 GPUs x 32 = 256, ResNet-50:
#   tools/dist_train.sh configs/objcon/detco_r50_200e_in1k.py 8
# Published (Table 4, 200 ep IN-1k): Mask R-CNN R50-FPN 1x 39.5 / 35.9 on COCO.
# Named variables: data_root, view_size, patch_size, patch_side, queue_size,
# stage_weights. Transfer: tools/convert_to_mmdet.py --part backbone.
_base_ = [
    '../_base_/models/detco_r50.py',
    '../_base_/datasets/detco_views.py',
    '../_base_/datasets/imagenet_unlabeled.py',
    '../_base_/schedules/detco_sgd_200e.py',
    '../_base_/soco_runtime.py',
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    dataset=dict(pipeline=[dict(type='LoadImageOrSkip'),
                           *_base_.view_pipeline]))
# per-rank BN in the key branch (shuffle-BN); SyncBN would undo the shuffle
sync_bn = None
default_hooks = dict(checkpoint=dict(interval=10))
