# DetCon-B's views: two RandomResizedCrops (area 0.08-1, ratio 3/4-4/3) resized to
# 224, each flipped with p 0.5; the image's Felzenszwalb-Huttenlocher label map
# rides along, nearest-sampled at the view's size (full-resolution ids). Colour as
# BYOL: ColorJitter(0.4, 0.4, 0.2, 0.1) p 0.8, grey p 0.2; blur sigma U(0.1, 2)
# p 1.0 / 0.1, solarize p 0 / 0.2 (SoCo's V1 and V2 lists are exactly these).
# The label maps come from a cache made by
#   python tools/precompute_proposals.py IMG_ROOT CACHE --source detcon
# Use: [LoadImageOrSkip, dict(load_proposals, mask_key='region_map'),
#       *view_pipeline]
_base_ = ['./soco_photometric.py']
view_size = 224
detcon_crop = dict(scale=(0.08, 1.0), ratio=(3. / 4., 4. / 3.))
object_views = dict(
    type='ObjectViews',
    views=[
        dict(size=view_size, crop=detcon_crop, flip_prob=0.5,
             pipeline={{_base_.soco_v1_photometric}}),
        dict(size=view_size, crop=detcon_crop, flip_prob=0.5,
             pipeline={{_base_.soco_v23_photometric}}),
    ],
    pairs=[],
    backend='pillow',
    interpolation='bicubic',
    region_map=dict(key='region_map', size=view_size))
view_pipeline = [object_views, dict(type='PackObjectViews')]
