# PLRC's views: two main RandomResizedCrops (scale 0.2-1) and an auxiliary crop of
# the first, redrawn (up to 100 draws, the last kept) until it overlaps >= 50 % of
# the larger of the two crops; independent flips p 0.5; the same photometric recipe
# for all: ColorJitter(0.4, 0.4, 0.4, 0.1) p 0.8, grey p 0.2, blur sigma
# U(0.1, 2) p 0.5, no solarize. Regions: a 4 x 4 grid of the image, carried into
# every view as a 56 x 56 nearest label map. The reference also draws an auxiliary
# crop of the second view, which its loss never uses; it is not drawn here.
# Use: train_pipeline = [LoadImageOrSkip, *view_pipeline]
_base_ = ['./soco_photometric.py']  # the colour part, with PLRC's saturation
view_size = 224
region_size = 56
plrc_crop = dict(scale=(0.2, 1.0), ratio=(3. / 4., 4. / 3.))
plrc_jitter = _base_.soco_colour[0]
plrc_photometric = [
    dict(plrc_jitter,
         transforms=[dict(plrc_jitter['transforms'][0], saturation=0.4)]),
    _base_.soco_colour[1],
    dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.5),
]
object_views = dict(
    type='ObjectViews',
    views=[
        dict(size=view_size, crop=plrc_crop, flip_prob=0.5,
             pipeline=plrc_photometric),
        dict(size=view_size, crop=plrc_crop, flip_prob=0.5,
             pipeline=plrc_photometric),
        dict(size=view_size, crop=plrc_crop, flip_prob=0.5,
             pipeline=plrc_photometric,
             overlap=dict(view=0, min_fraction=0.5, max_tries=101)),
    ],
    region_map=dict(key='region_map', size=region_size))
view_pipeline = [
    dict(type='GridRegionMap', grid=4, key='region_map'),
    object_views,
    dict(type='PackObjectViews'),
]
