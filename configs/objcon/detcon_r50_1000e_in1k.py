# DetCon-B, 1000 epochs on ImageNet-1k train (unlabeled), batch 4096 (64 GPUs x 64;
# lr 0.2 x 4096 / 256 = 3.2 through auto_scale_lr), ResNet-50. Masks: FH segments
# (scale 1000, min size 1000, full resolution), precomputed once:
#   python tools/precompute_proposals.py data/imagenet/train \
#       data/proposals/imagenet_train_detcon --source detcon --workers 32
#   tools/dist_train.sh configs/objcon/detcon_r50_1000e_in1k.py 64
# Published (unverified): COCO Mask R-CNN R50-FPN 1x 42.7 / 38.2.
# Named variables: data_root, proposal_cache, view_size, num_masks.
# Transfer: tools/convert_to_mmdet.py --part backbone.
_base_ = [
    '../_base_/models/detcon_r50.py',
    '../_base_/datasets/detcon_views.py',
    '../_base_/datasets/imagenet_unlabeled.py',
    '../_base_/schedules/detcon_lars_1000e.py',
    '../_base_/soco_runtime.py',
]
data_root = 'data/imagenet/'
proposal_cache = 'data/proposals/imagenet_train_detcon'
load_proposals = dict(
    type='LoadProposals', cache=proposal_cache, img_root=data_root + 'train',
    mask_key='region_map')
train_dataloader = dict(
    batch_size=64,
    dataset=dict(pipeline=[dict(type='LoadImageOrSkip'), load_proposals,
                           *_base_.view_pipeline]))
default_hooks = dict(checkpoint=dict(interval=10))
