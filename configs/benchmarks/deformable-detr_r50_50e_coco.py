# Deformable DETR R50 fine-tuned on COCO, 50 epochs: mmdet's own stock config,
# started from a DETReg (or UP-DETR-on-Deformable) pretrained detector instead of
# torchvision's ImageNet ResNet. The class-specific layers are initialised here; the
# rest (backbone, channel mapper, transformer, queries, box branches) is the
# pretrained detector's (tools/convert_to_mmdet.py --part head checks it).
#   python tools/convert_to_mmdet.py work_dirs/detreg/epoch_5.pth \
#       checkpoints/detreg_mmdet.pth --part head
#   bash tools/dist_train.sh configs/benchmarks/deformable-detr_r50_50e_coco.py 8 \
#       --cfg-options load_from=checkpoints/detreg_mmdet.pth
_base_ = 'mmdet::deformable_detr/deformable-detr_r50_16xb2-50e_coco.py'
custom_imports = dict(imports=['objcon'], allow_failed_imports=False)

model = dict(backbone=dict(init_cfg=None))  # the pretrained detector's backbone
