# Deformable DETR R50 fine-tuned on a labelled fraction of COCO train2017 (DETReg's
# semi-supervised protocol), from a DETReg-pretrained detector, evaluated on val2017.
# The fraction is a named variable; its schedule follows DETReg's scripts
# (configs/DETReg_fine_tune_{1,2,5,10}pct_coco.sh: epochs, and StepLR every
# `lr_drop` epochs, 40 by default):
#   1 %: 2000 epochs, no drop    2 %: 150 epochs, x0.1 at 40, 80, 120
#   5 %:  500 epochs, no drop   10 %: 150 epochs, x0.1 at 40, 80, 120
# The labelled subset is mmdet's split (fold 1..5), made once by
#   python $(python -c "import mmdet,os;print(os.path.dirname(mmdet.__file__))")/.mim/tools/misc/split_coco.py \
#       --data-root data/coco --out-dir data/coco/semi_anns --labeled-percent 1 10
# The reference instead draws its subset with np.random.choice after seeding with
# seed + rank, so each of its ranks trains on a different random subset (docs/detreg.md).
#   python tools/convert_to_mmdet.py work_dirs/detreg/epoch_50.pth \
#       checkpoints/detreg_mmdet.pth --part head
#   bash tools/dist_train.sh configs/benchmarks/deformable-detr_r50_semi-sup_coco.py 8 \
#       --cfg-options label_percent=1 load_from=checkpoints/detreg_mmdet.pth
_base_ = './deformable-detr_r50_50e_coco.py'

label_percent = 10  # 1, 2, 5 or 10
fold = 1
# percent -> (epochs, lr-drop epochs), from DETReg's fine-tuning scripts
schedules = {1: (2000, []), 2: (150, [40, 80, 120]), 5: (500, []),
             10: (150, [40, 80, 120])}
if label_percent not in schedules:
    raise ValueError(f'label_percent={label_percent}: DETReg\'s protocol has '
                     f'{sorted(schedules)} %')
max_epochs, lr_drops = schedules[label_percent]

train_dataloader = dict(
    dataset=dict(
        ann_file=f'semi_anns/instances_train2017.{fold}@{label_percent}.json'))
train_cfg = dict(max_epochs=max_epochs, val_interval=max(1, max_epochs // 50))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=lr_drops, gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=max(1, max_epochs // 50),
                                     max_keep_ckpts=3))
