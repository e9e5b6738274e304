# The demo's Deformable DETR, sized for a CPU, as changes to mmdet's own config
# (deformable_detr/deformable-detr_r50_16xb2-50e_coco.py): ResNet-18, 3 encoder and 3
# decoder layers, FFN 512, 100 queries. The DETReg demo pretraining and the demo
# fine-tuning both use it, so the converted detector fits the fine-tuning one.
deformable_detr_r18_demo = dict(
    num_queries=100,
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[128, 256, 512]),
    encoder=dict(num_layers=3,
                 layer_cfg=dict(ffn_cfg=dict(feedforward_channels=512))),
    decoder=dict(num_layers=3,
                 layer_cfg=dict(ffn_cfg=dict(feedforward_channels=512))))
