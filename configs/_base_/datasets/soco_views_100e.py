# SoCo-FPN views, 100-epoch recipe: the 400-epoch views plus a box cutout on V2/V3.
# Use: train_pipeline = [LoadImageOrSkip, <a proposal transform>, *view_pipeline]
# ImageNet mean/std are left to the model's data preprocessor.
_base_ = ['./soco_photometric.py']
view_size = 224  # V1, V2
small_view_size = 112  # V3

object_views = dict(
    type='ObjectViews',
    views=[
        dict(size=view_size, crop=None, flip_prob=0.5,
             pipeline={{_base_.soco_v1_photometric}}),
        dict(size=view_size, crop={{_base_.soco_crop}}, flip_prob=0.5,
             pipeline={{_base_.soco_v23_photometric}},
             box_cutout={{_base_.soco_box_cutout}}),
        dict(size=small_view_size, crop={{_base_.soco_crop}}, flip_prob=0.5,
             pipeline={{_base_.soco_v23_photometric}},
             box_cutout={{_base_.soco_box_cutout}}),
    ],
    pairs=[
        dict(views=(0, 1), jitter={{_base_.soco_box_jitter}}),
        dict(views=(0, 2), jitter={{_base_.soco_box_jitter}}),
    ],
    num_boxes=4,
    max_tries=5)
view_pipeline = [object_views, dict(type='PackObjectViews')]
