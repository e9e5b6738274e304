# objcon's embedded demo scenes (python tools/make_demo_data.py) as unlabeled
# images: the train folder, no annotations read; batch and workers for a CPU.
# Named variables (--cfg-options NAME=VALUE): data_root (default: the environment's
# OBJCON_DEMO_ROOT, else data/demo_scenes), batch_size, num_workers. Method configs
# derive their proposal cache from _base_.data_root.
_base_ = ['./unlabeled_images.py']
data_root = '{{$OBJCON_DEMO_ROOT:data/demo_scenes}}/'
batch_size = 16
num_workers = 2
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=num_workers,
    persistent_workers=num_workers > 0,
    dataset=dict(data_root=data_root))
