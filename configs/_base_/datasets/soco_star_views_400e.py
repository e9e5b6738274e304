# SoCo* views (400 epochs): V1 whole image 224, V2 crop 224, V3 crop 192, and
# V4 = V2 resized to 112 (own flip, V2-style colour); pair (V1, V4) reuses the
# (V1, V2) boxes. Use: train_pipeline = [LoadImageOrSkip, <a proposal transform>,
# *view_pipeline]. ImageNet mean/std are left to the model's data preprocessor.
_base_ = ['./soco_photometric.py']
view_size = 224  # V1, V2
mid_view_size = 192  # V3
small_view_size = 112  # V4

object_views = dict(
    type='ObjectViews',
    views=[
        dict(size=view_size, crop=None, flip_prob=0.5,
             pipeline={{_base_.soco_v1_photometric}}),
        dict(size=view_size, crop={{_base_.soco_crop}}, flip_prob=0.5,
             pipeline={{_base_.soco_v23_photometric}}),
        dict(size=mid_view_size, crop={{_base_.soco_crop}}, flip_prob=0.5,
             pipeline={{_base_.soco_v23_photometric}}),
        dict(size=small_view_size, source=1, flip_prob=0.5,
             pipeline={{_base_.soco_v23_photometric}}),
    ],
    pairs=[
        dict(views=(0, 1), jitter={{_base_.soco_box_jitter}}),
        dict(views=(0, 2), jitter={{_base_.soco_box_jitter}}),
        dict(views=(0, 3), boxes_from=0),
    ],
    num_boxes=4,
    max_tries=5)
view_pipeline = [object_views, dict(type='PackObjectViews')]
