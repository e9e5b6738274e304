# mmpretrain's DenseCL (reused as is) on the embedded demo scenes: MoCo v2's views
# and schedule of configs/baselines/mocov2_r18_demo.py, DenseCL's model.
#   python tools/train.py configs/baselines/densecl_r18_demo.py
_base_ = './mocov2_r18_demo.py'

model = dict(
    _delete_=True,
    type='DenseCL',
    queue_len=256,
    feat_dim=128,
    momentum=0.001,
    loss_lambda=0.5,
    backbone=dict(type='ResNet', depth=18, norm_cfg=dict(type='BN'),
                  zero_init_residual=False),
    neck=dict(type='DenseCLNeck', in_channels=512, hid_channels=1024,
              out_channels=128, num_grid=None),
    head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'),
              temperature=0.2))
find_unused_parameters = True
