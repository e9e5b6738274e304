# SoCo-C4, 400 epochs (published Mask R-CNN R50-C4 1x: 40.9 / 35.3): the C4 views
# (two, box cutout on V2), as the 100-epoch recipe.
_base_ = [
    '../_base_/models/soco_r50_c4.py',
    '../_base_/datasets/imagenet_soco-c4.py',
    '../_base_/schedules/soco_lars_400e.py',
    '../_base_/soco_runtime.py',
]
