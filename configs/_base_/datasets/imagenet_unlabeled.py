# ImageNet-1k train as unlabeled images (the folder layout; class folders are
# ignored), with proposals from a precomputed cache:
#   data/imagenet/train/n01440764/n01440764_10026.JPEG ...
#   python tools/precompute_proposals.py data/imagenet/train \
#       data/proposals/imagenet_train_soco --source soco --workers 32
# Method configs build the pipeline: LoadImageOrSkip, load_proposals, views.
# Named variables (override with --cfg-options NAME=VALUE): data_root,
# proposal_cache.
data_root = 'data/imagenet/'
proposal_cache = 'data/proposals/imagenet_train_soco'
load_proposals = dict(
    type='LoadProposals', cache=proposal_cache, img_root=data_root + 'train')
train_dataloader = dict(
    batch_size=128,  # per GPU: 16 x 128 = 2048 in the reference
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='UnlabeledImageDataset',
        data_root=data_root,
        data_prefix='train',
        with_label=False,
        pipeline=[]))
