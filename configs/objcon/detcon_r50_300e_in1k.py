# DetCon-B, 300 epochs on ImageNet-1k train: detcon_r50_1000e_in1k.py with a 300-
# epoch schedule (3 warmup epochs, cosine over the other 297).
#   tools/dist_train.sh configs/objcon/detcon_r50_300e_in1k.py 64
_base_ = ['./detcon_r50_1000e_in1k.py']
max_epochs = 300
warmup_epochs = max_epochs // 100
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=0.,
         by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
