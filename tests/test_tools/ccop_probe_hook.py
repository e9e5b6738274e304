"""A hook that records what a CCOP run did inside the model, for the training
tests: the key branch's shuffle across ranks (and, distributed, whether the
shuffled key branch equals the local one in eval mode), each rank's object count
per iteration, and the queues as the run found them before its first iteration
(after ``--resume`` loaded them). Importing this module registers it in
MMEngine's root registry, so a config (``custom_imports``) can name it."""
import json
import os.path as osp

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

import objcon.models.utils.shuffle_bn as shuffle_module

QUEUES = ('image_queue', 'roi_queue')


@HOOKS.register_module(force=True)
class CCOPProbe(Hook):
    """Writes ``probe_rank{R}.json`` (shuffles, object counts) and
    ``queues_at_start_rank{R}.pth`` into the work dir of each rank.

    The JSON holds ``shuffles``: per call of the key branch's shuffle
    (``batch_shuffle_ddp`` in ``forward_shuffled``), the global indices of the
    key images this rank encoded (world size 1 never calls it), and
    ``num_objects``: this rank's valid boxes per iteration. Distributed,
    ``shuffle_error`` is the largest difference between the key branch's
    embeddings with and without the shuffle, in eval mode (BN with running
    statistics: they must agree), on random images and boxes before training.
    """

    priority = 'NORMAL'

    def __init__(self):
        self.shuffles = []
        self.num_objects = []
        self.shuffle_error = None

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) \
            else runner.model

    @torch.no_grad()
    def _shuffle_error(self, model) -> float:
        """Key embeddings through the shuffle vs locally, eval mode."""
        gen = torch.Generator().manual_seed(get_rank())
        images = torch.randn(4, 3, 96, 96, generator=gen)
        corners = torch.rand(4, 3, 2, 2, generator=gen).sort(2).values * 95
        boxes = corners.reshape(4, 3, 4)  # x1 y1 x2 y2
        model.eval()
        try:
            shuffled = model._encode_key(images, boxes)
            local = model._encode(model.target, images, boxes)
        finally:
            model.train()
        return max(float((a - b).abs().max()) for a, b in zip(shuffled, local))

    def before_run(self, runner):
        if get_world_size() > 1:
            self.shuffle_error = self._shuffle_error(self._model(runner))
        shuffle = shuffle_module.batch_shuffle_ddp
        shuffles = self.shuffles

        def recording_shuffle(x):
            shuffled, unshuffle = shuffle(x)
            order = torch.argsort(unshuffle).view(-1, x.shape[0])
            shuffles.append(order[get_rank()].tolist())
            return shuffled, unshuffle

        shuffle_module.batch_shuffle_ddp = recording_shuffle

    def before_train(self, runner):
        model = self._model(runner)
        state = {f'{q}.{b}': getattr(getattr(model, q), b).detach().clone()
                 for q in QUEUES for b in ('features', 'ptr')}
        torch.save(state, osp.join(runner.work_dir,
                                   f'queues_at_start_rank{get_rank()}.pth'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.num_objects.append(int(outputs['num_objects']))

    def after_run(self, runner):
        with open(osp.join(runner.work_dir, f'probe_rank{get_rank()}.json'),
                  'w') as f:
            json.dump(dict(shuffles=self.shuffles, num_objects=self.num_objects,
                           shuffle_error=self.shuffle_error), f)
