# Reference row "ImageNet-supervised": the same model initialised from torchvision's
# ImageNet-1k classification ResNet-50 (mmdet's usual starting point). Downloads the
# weights on first use (the only config here that does).
#   tools/benchmark_det.sh none configs/benchmarks/mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco_supervised.py 8
_base_ = './mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco.py'
model = dict(backbone=dict(
    init_cfg=dict(_delete_=True, type='Pretrained',
                  checkpoint='torchvision://resnet50')))
