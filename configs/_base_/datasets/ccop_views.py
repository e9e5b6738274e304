# CCOP's views: two RandomResizedCrops (scale 0.1-1), independent flips, the same
# photometric recipe for both; a proposal is kept for the pair if >= 60% of its
# area lies inside each crop and its part in both crops covers > 144 px (of the
# original image, objcon's rule; the reference measures the resized views).
# Crops are redrawn (up to 10 draws) until the pair has a box.
# Use: train_pipeline = [LoadImageOrSkip, <a proposal transform>, *view_pipeline]
view_size = 224
num_boxes = 50  # the ccop proposal preset keeps at most 50 boxes an image
ccop_crop = dict(scale=(0.1, 1.0), ratio=(3. / 4., 4. / 3.))
ccop_photometric = [
    dict(type='RandomApply',
         transforms=[dict(type='mmpretrain.ColorJitter', brightness=0.4,
                          contrast=0.4, saturation=0.2, hue=0.1)],
         prob=0.8),
    # torchvision's Grayscale uses ITU-R 601 luma weights; these are in BGR order.
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.299)),
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
