# SoCo-C4 views (the reference's C4 recipe, 100 and 400 epochs alike): V1 the whole
# image at 224, V2 a RandomResizedCrop to 224 with scale (0.6, 1); no box jitter;
# the box cutout on V2; one pair, so two loss terms (1-2 and 2-1).
# Use: train_pipeline = [LoadImageOrSkip, <a proposal transform>, *view_pipeline]
# ImageNet mean/std are left to the model's data preprocessor.
_base_ = ['./soco_photometric.py']
view_size = 224
soco_c4_crop = dict(scale=(0.6, 1.0), ratio=(3. / 4., 4. / 3.))

object_views = dict(
    type='ObjectViews',
    views=[
        dict(size=view_size, crop=None, flip_prob=0.5,
             pipeline={{_base_.soco_v1_photometric}}),
        dict(size=view_size, crop=soco_c4_crop, flip_prob=0.5,
             pipeline={{_base_.soco_v23_photometric}},
             box_cutout={{_base_.soco_box_cutout}}),
    ],
    pairs=[dict(views=(0, 1))],
    num_boxes=4,
    max_tries=5)
view_pipeline = [object_views, dict(type='PackObjectViews')]
