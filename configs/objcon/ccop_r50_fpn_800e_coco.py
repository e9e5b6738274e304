# CCOP, 800 epochs on COCO train2017 images, 8 GPUs x 32 = 256. The image list is
# the one of instances_train2017.json, as the reference's, read without its
# annotations (UnlabeledImageDataset never decodes them; image_list='' walks the
# train2017 folder instead). Selective-search boxes (ccop preset):
#   python tools/precompute_proposals.py data/coco/train2017 \
#       data/proposals/coco_train2017_ccop --source ccop --workers 32
#   tools/dist_train.sh configs/objcon/ccop_r50_fpn_800e_coco.py 8
# Named variables: data_root, image_list, proposal_cache, view_size, queue_size.
_base_ = [
    '../_base_/models/ccop_r50_fpn.py',
    '../_base_/datasets/ccop_views.py',
    '../_base_/datasets/unlabeled_images.py',
    '../_base_/schedules/ccop_sgd_800e.py',
    '../_base_/soco_runtime.py',
]
data_root = 'data/coco/'
image_list = 'annotations/instances_train2017.json'
proposal_cache = 'data/proposals/coco_train2017_ccop'
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    pin_memory=True,
    dataset=dict(
        data_root=data_root,
        data_prefix='train2017',
        ann_file=image_list,
        pipeline=[
            dict(type='LoadImageOrSkip'),
            dict(type='LoadProposals', cache=proposal_cache,
                 img_root=data_root + 'train2017'),
            {{_base_.object_views}},
            dict(type='PackObjectViews'),
        ]))
# per-rank BN in the key branch (shuffle-BN); SyncBN would undo the shuffle
sync_bn = None
default_hooks = dict(checkpoint=dict(interval=20))
