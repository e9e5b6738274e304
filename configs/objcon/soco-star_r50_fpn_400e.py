# SoCo*, 400 epochs (published 43.2 / 38.4): V4 = V2 resized to 112, V3 a 192 crop.
_base_ = [
    '../_base_/models/soco_r50_fpn.py',
    '../_base_/datasets/imagenet_soco-star_400e.py',
    '../_base_/schedules/soco_lars_400e.py',
    '../_base_/soco_runtime.py',
]
