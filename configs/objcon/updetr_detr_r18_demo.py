# UP-DETR on the embedded demo scenes, sized for a CPU: the model of
# updetr_detr_r50_60e_in1k.py with ResNet-18, 3+3 layers, FFN 512, 50 queries in 10
# groups, images of 160-224 px, 64-px patch crops. The frozen target is res5 of an
# R18 pretrained on the demo scenes (default: the BYOL baseline,
# configs/baselines/byol_r18_demo.py). Named variables (--cfg-options NAME=VALUE):
# data_root, target_checkpoint, backbone_lr_mult, num_patches, crop_size.
#   python tools/train.py configs/objcon/updetr_detr_r18_demo.py
_base_ = ['./updetr_detr_r50_60e_in1k.py']

data_root = '{{$OBJCON_DEMO_ROOT:data/demo_scenes}}/'
target_checkpoint = 'work_dirs/byol_r18_demo/epoch_8.pth'
crop_size = 64
image_scales = [(160, 1333), (192, 1333), (224, 1333)]

layer = dict(ffn_cfg=dict(feedforward_channels=512))
model = dict(
    detector=dict(
        num_queries=50,
        backbone=dict(depth=18),
        neck=dict(in_channels=[512]),
        encoder=dict(num_layers=3, layer_cfg=layer),
        decoder=dict(num_layers=3, layer_cfg=layer)),
    target=dict(backbone=dict(depth=18), checkpoint=target_checkpoint))

# the r50 config's pipeline at the demo's crop and image sizes
train_pipeline = [
    dict(t, size=crop_size) if t['type'] == 'ObjectCrops' else
    dict(t, scales=image_scales) if t['type'] == 'mmdet.RandomChoiceResize' else t
    for t in _base_.train_pipeline
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))

max_epochs = 6
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = []
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
