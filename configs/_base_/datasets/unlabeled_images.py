# A folder of unlabeled images for pretraining (UnlabeledImageDataset: class
# folders are not read as labels). Data set bases set data_root, the batch and the
# workers; method configs set the pipeline:
#   train_dataloader = dict(dataset=dict(pipeline=[
#       dict(type='LoadImageOrSkip'), <boxes or regions>, <views>,
#       dict(type='PackObjectViews')]))
train_dataloader = dict(
    persistent_workers=True,
    drop_last=True,  # shuffle-BN needs equal batches on every rank
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='UnlabeledImageDataset',
        data_prefix='train',
        with_label=False,
        pipeline=[]))
