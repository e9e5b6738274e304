# SoCo-FPN views, 100-epoch recipe: the 400-epoch views plus a box cutout on V2/V3.
# Use: train_pipeline = [LoadImageOrSkip, <a proposal transform>, *view_pipeline]
# ImageNet mean/std are left to the model's data preprocessor.
_base_ = ['./soco_views_400e.py']

object_views = dict(
    _base_.object_views,
    views=[_base_.object_views['views'][0]] + [
        dict(v, box_cutout=_base_.soco_box_cutout)
        for v in _base_.object_views['views'][1:]
    ])
view_pipeline = [object_views, dict(type='PackObjectViews')]
