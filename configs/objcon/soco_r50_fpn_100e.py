# SoCo-FPN, 100 epochs (published 42.3 / 37.6): box cutout on V2/V3.
_base_ = [
    '../_base_/models/soco_r50_fpn.py',
    '../_base_/datasets/imagenet_soco_100e.py',
    '../_base_/schedules/soco_lars_100e.py',
    '../_base_/soco_runtime.py',
]
