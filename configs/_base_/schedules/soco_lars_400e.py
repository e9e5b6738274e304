# SoCo's optimisation: LARS (the reference's exact update) over momentum SGD,
# lr = 1.0 x batch / 256 (auto_scale_lr scales by the real total batch), linear
# warmup from 0.01 x lr over 10 epochs, cosine to 1e-6, both per iteration; mixed
# precision as the published runs (apex O1 there, torch AMP here).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='SoCoLARS', lr=1.0, momentum=0.9, weight_decay=1e-5, eta=0.001,
        exclude_1d=True))
max_epochs = 400
warmup_epochs = 10
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(enable=True, base_batch_size=256)
