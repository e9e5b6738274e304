# Reference row "no pretraining": the model of
# mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco.py from random initialisation (its
# backbone init_cfg is already None; this config exists so that the results table
# names the row). Every pretraining must beat it.
#   tools/benchmark_det.sh none configs/benchmarks/mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco_scratch.py 8
_base_ = './mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco.py'
load_from = None
