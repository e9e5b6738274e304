# SoCo-C4, 100 epochs (published 40.4 / 34.9): the C4 views (two, box cutout on V2).
_base_ = [
    '../_base_/models/soco_r50_c4.py',
    '../_base_/datasets/imagenet_soco-c4.py',
    '../_base_/schedules/soco_lars_100e.py',
    '../_base_/soco_runtime.py',
]
