# COCO Mask R-CNN R50-C4 1x for C4 pretraining (SoCo-C4): mmdet's C4 Mask R-CNN
# with a pytorch-style ResNet (as pretrained: stride on the 3x3 conv, RGB input with
# ImageNet mean/std), SyncBN trained in backbone and res5 head, no frozen stages.
# Weights: tools/convert_to_mmdet.py CKPT OUT --part backbone  (res1-4 -> backbone,
# res5 -> roi_head.shared_head), then load_from=OUT.
#   tools/benchmark_det.sh CKPT configs/benchmarks/mask-rcnn_r50_c4_syncbn_1x_coco.py 8
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50-caffe-c4_1x_coco.py'
custom_imports = dict(imports=['objcon'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(style='pytorch', frozen_stages=-1, norm_cfg=norm_cfg,
                  norm_eval=False, init_cfg=None),
    roi_head=dict(shared_head=dict(style='pytorch', norm_cfg=norm_cfg,
                                   norm_eval=False)))
custom_hooks = [dict(type='objcon.NonFiniteLossHook')]
