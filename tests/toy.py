"""A toy model and dataset for exercising a real MMEngine Runner in tests."""
import torch
import torch.nn as nn
from mmengine.dataset import BaseDataset
from mmengine.hooks import Hook
from mmengine.model import BaseModel


class ToyDataset(BaseDataset):
    """Eight 1-d regression samples."""

    def __init__(self, **kwargs):
        super().__init__(serialize_data=False, lazy_init=False, **kwargs)

    def load_data_list(self):
        return [dict(x=torch.tensor([float(i)]), y=torch.tensor([2.0 * i]))
                for i in range(8)]


class ToyModel(BaseModel):
    """y = w x; the loss turns NaN from ``nan_at_call`` on, if given."""

    def __init__(self, nan_at_call=None):
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.nan_at_call = nan_at_call
        self.calls = 0

    def forward(self, x, y, mode='tensor', **kwargs):
        out = self.linear(x)
        if mode != 'loss':
            return out
        self.calls += 1
        loss = ((out - y)**2).mean()
        if self.nan_at_call is not None and self.calls >= self.nan_at_call:
            loss = loss * float('nan')
        return dict(loss_mse=loss)


def toy_runner_cfg(work_dir, max_iters, **overrides):
    cfg = dict(
        model=dict(type='ToyModel'),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=dict(type='ToyDataset'),
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=[dict(type='CosineAnnealingLR', T_max=max_iters,
                              by_epoch=False)],
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        default_scope='objcon',
    )
    cfg.update(overrides)
    return cfg


def register_toys():
    from mmengine.registry import DATASETS, MODELS
    MODELS.register_module(module=ToyModel, force=True)
    DATASETS.register_module(module=ToyDataset, force=True)


class KillAfterIter(Hook):
    """Raises after iteration ``n``, once that iteration's checkpoint is saved."""

    priority = 'LOWEST'

    def __init__(self, n):
        self.n = n

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.n:
            raise KeyboardInterrupt(f'killed after iteration {self.n}')
