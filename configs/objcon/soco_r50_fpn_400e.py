# SoCo-FPN, 400 epochs on ImageNet-1k (published COCO Mask R-CNN 1x: 43.0 / 38.2).
# V1 224 whole image, V2 224 and V3 112 crops; LARS, lr 1.0 x batch / 256.
#   tools/dist_train.sh configs/objcon/soco_r50_fpn_400e.py 8
_base_ = [
    '../_base_/models/soco_r50_fpn.py',
    '../_base_/datasets/imagenet_soco_400e.py',
    '../_base_/schedules/soco_lars_400e.py',
    '../_base_/soco_runtime.py',
]
