# DETReg on COCO train2017 images without labels, 50 epochs (lr drop at 40), as the
# reference's COCO run (configs/DETReg_top30_coco.sh): the ImageNet config's model,
# targets and optimiser on the COCO folder. No annotation is read: the images are
# an unlabeled folder, the boxes the `detreg` selective search.
#   python tools/precompute_proposals.py data/coco/train2017 \
#       data/proposals/coco_train2017_detreg --source detreg --workers 32
#   bash tools/dist_train.sh configs/objcon/detreg_deformable-detr_r50_50e_coco.py 8 \
#       --cfg-options target_checkpoint=checkpoints/swav_r50.pth
_base_ = ['./detreg_deformable-detr_r50_5e_in1k.py']

data_root = 'data/coco/'
proposal_cache = 'data/proposals/coco_train2017_detreg'
# the ImageNet config's pipeline with this cache (one transform replaced)
train_pipeline = [
    dict(t, cache=proposal_cache, img_root=data_root + 'train2017')
    if t['type'] == 'LoadProposals' else t for t in _base_.train_pipeline
]
train_dataloader = dict(dataset=dict(data_root=data_root, data_prefix='train2017',
                                     pipeline=train_pipeline))

max_epochs = 50
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[40], gamma=0.1)
]
