# PASCAL VOC07+12 Faster R-CNN R50-C4, the MoCo detectron2 protocol PLRC reports
# (trainval 07+12, test 07; 24k iterations at batch 16, lr 0.02, steps at 18k and
# 22k, 100-iteration warmup; shorter side 480-800 step 32 for training, 800 for
# testing), on mmdet's VOC C4 config: pytorch-style ResNet (as pretrained: stride
# on the 3x3 conv, RGB input with ImageNet mean/std), SyncBN trained in backbone
# and res5 head, no frozen stages.
# Weights of a whole-ResNet pretraining (PLRC):
#   tools/convert_to_mmdet.py CKPT OUT --part backbone --detector c4 \
#       --config configs/benchmarks/faster-rcnn_r50_c4_syncbn_24k_voc0712.py
# (res1-4 -> backbone, res5 -> roi_head.shared_head), then load_from=OUT:
#   tools/dist_train.sh configs/benchmarks/faster-rcnn_r50_c4_syncbn_24k_voc0712.py 8 \
#       --cfg-options load_from=OUT
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py'
custom_imports = dict(imports=['objcon'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(style='pytorch', frozen_stages=-1, norm_cfg=norm_cfg,
                  norm_eval=False, init_cfg=None),
    # init_cfg None: no caffe-weights download before load_from
    roi_head=dict(shared_head=dict(style='pytorch', norm_cfg=norm_cfg,
                                   norm_eval=False, init_cfg=None)))

max_iter = 24000
train_cfg = dict(max_iters=max_iter, val_interval=4000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_iter, by_epoch=False,
         milestones=[18000, 22000], gamma=0.1)
]
train_dataloader = dict(batch_size=2)  # 8 GPUs x 2 = 16
auto_scale_lr = dict(enable=True, base_batch_size=16)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4000))
custom_hooks = [dict(type='objcon.NonFiniteLossHook')]
# AP, AP50, AP75 as detectron2's VOC evaluator (PLRC's and MoCo's numbers): the
# 11-point VOC07 AP at IoU 0.50:0.05:0.95; `mAP` is their mean (AP), AP50 and
# AP75 are logged per threshold.
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points',
                     iou_thrs=[round(0.5 + 0.05 * i, 2) for i in range(10)])
test_evaluator = val_evaluator
