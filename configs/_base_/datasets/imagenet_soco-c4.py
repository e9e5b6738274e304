# ImageNet-1k train, unlabeled, with SoCo's cached boxes and the SoCo-C4 views.
_base_ = ['./soco_c4_views.py', './imagenet_unlabeled.py']
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageOrSkip'),
        {{_base_.load_proposals}},
        {{_base_.object_views}},
        dict(type='PackObjectViews'),
    ]))
