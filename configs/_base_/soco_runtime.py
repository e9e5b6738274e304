default_scope = 'objcon'
custom_imports = dict(imports=['objcon'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='ProgressBarHook'),
    dict(type='InterruptCheckpointHook'),
]
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
# BN -> SyncBN when distributed on GPUs (the Runner reverts it otherwise).
sync_bn = 'torch'
log_processor = dict(window_size=10)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
