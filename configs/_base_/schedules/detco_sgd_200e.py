# MoCo v2's optimisation, which DetCo's paper follows: SGD lr 0.03 x batch / 256
# (auto_scale_lr scales by the real total batch), momentum 0.9, weight decay 1e-4,
# cosine to 0 per iteration over 200 epochs, no warmup.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
max_epochs = 200
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0., by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(enable=True, base_batch_size=256)
