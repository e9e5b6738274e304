# ImageNet-1k train as unlabeled images (the folder layout; class folders are
# ignored), with proposals from a precomputed cache:
#   data/imagenet/train/n01440764/n01440764_10026.JPEG ...
#   python tools/precompute_proposals.py data/imagenet/train \
#       data/proposals/imagenet_train_soco --source soco --workers 32
# Method configs build the pipeline: LoadImageOrSkip, load_proposals, views.
# Named variables (override with --cfg-options NAME=VALUE): data_root,
# proposal_cache.
_base_ = ['./unlabeled_images.py']
data_root = 'data/imagenet/'
proposal_cache = 'data/proposals/imagenet_train_soco'
load_proposals = dict(
    type='LoadProposals', cache=proposal_cache, img_root=data_root + 'train')
train_dataloader = dict(
    batch_size=128,  # per GPU: 16 x 128 = 2048 in the reference
    num_workers=8,
    pin_memory=True,
    dataset=dict(data_root=data_root))
