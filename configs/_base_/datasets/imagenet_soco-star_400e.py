# ImageNet-1k train, unlabeled, with SoCo's cached boxes and the SoCo* views (V4).
_base_ = ['./soco_star_views_400e.py', './imagenet_unlabeled.py']
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageOrSkip'),
        {{_base_.load_proposals}},
        {{_base_.object_views}},
        dict(type='PackObjectViews'),
    ]))
