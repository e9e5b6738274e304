# SoCo's per-view photometric augmentations and box parameters, shared by the SoCo
# view recipes (soco_views_100e.py, soco_views_400e.py, soco_star_views_400e.py).
# Views stay uint8 BGR: ImageNet mean/std (and BGR -> RGB) are applied by the
# model's data preprocessor, not here.

# RandomResizedCrop ranges of V2/V3 (and SoCo*'s V3).
soco_crop = dict(scale=(0.5, 1.0), ratio=(3. / 4., 4. / 3.))
# Jitter of V1's boxes, drawn independently for each pair.
soco_box_jitter = dict(prob=0.5, shift=0.1, scale=0.1)

soco_colour = [
    dict(type='RandomApply',
         transforms=[dict(type='mmpretrain.ColorJitter', brightness=0.4,
                          contrast=0.4, saturation=0.2, hue=0.1)],
         prob=0.8),
    # torchvision's Grayscale uses ITU-R 601 luma weights; these are in BGR order.
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.299)),
]
# V1: Gaussian blur sigma U(0.1, 2.0) always, no solarize.
soco_v1_photometric = soco_colour + [
    dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=1.0),
]
# V2, V3 (and SoCo*'s V4): blur p=0.1, solarize (threshold 128) p=0.2.
soco_v23_photometric = soco_colour + [
    dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.1),
    dict(type='mmpretrain.Solarize', thr=128, prob=0.2),
]
# 100-epoch recipe: box cutout on V2/V3. The reference zeroes the *normalised*
# tensor, i.e. fills with the ImageNet mean colour (here uint8 BGR), and lets the
# square spill over the box edge.
soco_box_cutout = dict(prob=0.5, area=(0.1, 0.3), fill=(104, 116, 124),
                       clip_to_box=False)
