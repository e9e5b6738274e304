# The 2x schedule (24 epochs, lr steps at 16 and 22) of
# mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco.py: same model and data.
#   tools/benchmark_det.sh CKPT configs/benchmarks/mask-rcnn_r50_fpn_syncbn-4conv1fc_2x_coco.py 8
_base_ = './mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco.py'

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[16, 22], gamma=0.1)
]
