# CCOP's views: two RandomResizedCrops (scale 0.1-1), independent flips, the same
# photometric recipe for both; a proposal is kept for the pair if >= 60% of its
# area lies inside each crop and its part in both crops covers > 144 px (of the
# original image, objcon's rule; the reference measures the resized views).
# Crops are redrawn (up to 10 draws) until the pair has a box.
# Use: train_pipeline = [LoadImageOrSkip, <a proposal transform>, *view_pipeline]
_base_ = ['./soco_photometric.py']  # the colour part is SoCo's (and BYOL's)
view_size = 224
num_boxes = 50  # the ccop proposal preset keeps at most 50 boxes an image
ccop_crop = dict(scale=(0.1, 1.0), ratio=(3. / 4., 4. / 3.))
# ColorJitter(0.4, 0.4, 0.2, 0.1) p 0.8, grey p 0.2, blur sigma U(0.1, 2) p 0.5
ccop_photometric = _base_.soco_colour + [
    dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.5),
]
object_views = dict(
    type='ObjectViews',
    views=[
        dict(size=view_size, crop=ccop_crop, flip_prob=0.5,
             pipeline=ccop_photometric),
        dict(size=view_size, crop=ccop_crop, flip_prob=0.5,
             pipeline=ccop_photometric),
    ],
    pairs=[dict(views=(0, 1))],
    num_boxes=num_boxes,
    max_tries=10,
    min_boxes=1,
    min_visible_fraction=0.6,
    min_area=144,
    padding='joint')
view_pipeline = [object_views, dict(type='PackObjectViews')]
