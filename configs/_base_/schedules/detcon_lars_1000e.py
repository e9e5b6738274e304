# DetCon-B's optimisation: LARS (eta 1e-3, momentum 0.9, weight decay 1.5e-6; biases
# and BN excluded from decay and scaling), lr 0.2 x batch / 256 (auto_scale_lr
# scales by the real total batch: 3.2 at 4096), linear warmup over epochs // 100
# epochs (what the reference's schedule actually uses; its warmup_epochs=10 is
# never read), then cosine to 0, both per iteration; mixed precision on GPUs.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='SoCoLARS', lr=0.2, momentum=0.9, weight_decay=1.5e-6, eta=0.001,
        exclude_1d=True))
max_epochs = 1000
warmup_epochs = max_epochs // 100
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=0.,
         by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(enable=True, base_batch_size=256)
