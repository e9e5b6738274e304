"""DetCo: global and local contrast at every backbone stage."""
from typing import Dict, List, Sequence, Tuple

import torch
from torch import Tensor, nn

from objcon.registry import MODELS
from ..utils import FeatureQueue, forward_shuffled
from .base import BaseObjectSelfSupervisor

TERMS = ('g2g', 'l2l', 'l2g')


@MODELS.register_module()
class DetCo(BaseObjectSelfSupervisor):
    """DetCo: unsupervised contrastive learning for object detection (Xie et al.,
    ICCV 2021, https://arxiv.org/abs/2102.04803).

    MoCo v2 with contrast at several backbone stages and between global views and
    their local patches. Views (``ObjectViews`` with grid-cell views, see
    ``configs/_base_/datasets/detco_views.py``): ``inputs[0]`` = X1 and
    ``inputs[1]`` = X2, two global crops of the image; then ``num_patches``
    patches of X1 (X3) and ``num_patches`` patches of X2 (X4), a 3x3 jigsaw grid
    each. The query encoder (backbone + heads) sees X1 and X3, its EMA copy (the
    key encoder, updated before the key forward) sees X2 and X4.

    At every backbone stage s (res2..res5 with ``out_indices=(0, 1, 2, 3)``):

    * global representation of a view: global average pool of stage s ->
      ``global_head`` (MLP) -> ``feat_dim``;
    * local representation of a patch set: each patch's pooled stage-s features,
      **concatenated in grid order** (``num_patches * C_s`` values) ->
      ``local_head`` (MLP) -> ``feat_dim``; the paper's figure concatenates the
      patch features before the local MLP;
    * three InfoNCE terms, each ``InfoNCE(query, positive key, queue)``:
      ``g2g`` = (X1 global, X2 global, global queue), ``l2l`` = (X3 local, X4
      local, local queue), ``l2g`` = (X3 local, X2 global, global queue);
    * the stage's loss is ``stage_weights[s] * (g2g + l2l + l2g)``; the keys
      (X2 global, X4 local) then enter the stage's global and local queues.

    DetCo released no pretraining code. objcon's design, not the publication's
    (unverified, every one a config field): the stage weights (0.1, 0.4, 0.7,
    1.0), the heads (Linear C-2048, ReLU, Linear 2048-128 per stage and kind, no
    BN, as MoCo v2's neck), the temperature (0.2, MoCo v2's), one direction of
    the cross term (local query, global key; no global-query-local-key term),
    the negatives of ``l2g`` (the global queue) and the patch geometry (a
    window of 0.85 of each cell's side, 64 px, own flip and colour per patch).

    Key-branch BN: with several ranks, the key images (and, separately, the
    patch sets, which travel with their image) are shuffled across ranks
    (:func:`~objcon.models.utils.forward_shuffled`, MoCo's shuffle-BN); keep BN
    per rank (``sync_bn = None``). In one process the key branch normalises with
    its own batch's statistics.

    Args:
        backbone (dict): Backbone config (mmdet's ResNet with one output per
            contrasted stage).
        global_head (dict): Head of global views (``ProjectionMLP``), built per
            stage with ``in_channels`` = the stage's channels and average
            pooling.
        local_head (dict): Head of patch sets (``ProjectionMLP``), built per
            stage with ``in_channels`` = ``num_patches`` x the stage's channels.
        in_channels (Sequence[int]): Channels of each backbone output. Defaults
            to ResNet-50's (256, 512, 1024, 2048).
        stage_weights (Sequence[float]): Loss weight of each stage. Defaults to
            (0.1, 0.4, 0.7, 1.0) (unverified, objcon's design).
        num_patches (int): Patches of each global view. Defaults to 9.
        loss (dict): The InfoNCE of every term. Defaults to ``InfoNCELoss``
            with tau 0.2.
        queue_size (int): Length of each queue (one global and one local per
            stage). Defaults to 65536.
        feat_dim (int): Width of the representations (the heads' output).
            Defaults to 128.
        base_momentum (float): EMA momentum at the start. Defaults to 0.999.
        end_momentum (float): EMA momentum at the end. Defaults to 0.999
            (constant, as MoCo).
        **kwargs: :class:`BaseObjectSelfSupervisor` arguments (data
            preprocessor, init).
    """

    def __init__(self,
                 backbone: dict,
                 global_head: dict,
                 local_head: dict,
                 in_channels: Sequence[int] = (256, 512, 1024, 2048),
                 stage_weights: Sequence[float] = (0.1, 0.4, 0.7, 1.0),
                 num_patches: int = 9,
                 loss: dict = dict(type='InfoNCELoss', temperature=0.2),
                 queue_size: int = 65536,
                 feat_dim: int = 128,
                 base_momentum: float = 0.999,
                 end_momentum: float = 0.999,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, base_momentum=base_momentum,
                         end_momentum=end_momentum, **kwargs)
        if len(stage_weights) != len(in_channels):
            raise ValueError(f'{len(stage_weights)} stage weights for '
                             f'{len(in_channels)} stages (in_channels)')
        if any(w < 0 for w in stage_weights) or not any(stage_weights):
            raise ValueError(f'stage weights must be >= 0 and not all 0, got '
                             f'{tuple(stage_weights)}')
        if num_patches < 1:
            raise ValueError(f'num_patches must be >= 1, got {num_patches}')
        self.stage_weights = tuple(float(w) for w in stage_weights)
        self.num_patches = int(num_patches)
        out_indices = getattr(self.backbone, 'out_indices', range(len(in_channels)))
        if len(out_indices) != len(in_channels):
            raise ValueError(f'the backbone has {len(out_indices)} outputs '
                             f'(out_indices) for {len(in_channels)} stages')
        # ResNet's out_indices 0..3 are res2..res5
        self.stage_names = tuple(f'res{i + 2}' for i in out_indices)
        self.global_heads = nn.ModuleList(
            MODELS.build(dict(global_head, in_channels=c, with_avg_pool=True))
            for c in in_channels)
        self.local_heads = nn.ModuleList(
            MODELS.build(dict(local_head, in_channels=c * self.num_patches))
            for c in in_channels)
        self.init_target()  # the target includes the heads
        self.contrast = MODELS.build(loss)
        self.global_queues = nn.ModuleList(
            FeatureQueue(queue_size, feat_dim) for _ in in_channels)
        self.local_queues = nn.ModuleList(
            FeatureQueue(queue_size, feat_dim) for _ in in_channels)

    def online_modules(self) -> nn.ModuleDict:
        """Backbone and (once built) the global and local heads."""
        mods = super().online_modules()
        for name in ('global_heads', 'local_heads'):
            if name in self._modules:
                mods[name] = self._modules[name]
        return mods

    # --------------------------------------------------------------- pieces
    def split_views(self, inputs: List[Tensor]
                    ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """X1, X2 (N, 3, H, W) and the patch sets X3, X4 (N, P, 3, h, w)."""
        p = self.num_patches
        if len(inputs) != 2 + 2 * p:
            raise ValueError(
                f'DetCo takes 2 global views and {p} patches of each '
                f'({2 + 2 * p} views), got {len(inputs)}: configure ObjectViews '
                'as configs/_base_/datasets/detco_views.py')
        patches = inputs[2:]
        if len({tuple(x.shape) for x in patches}) != 1:
            raise ValueError('every patch view must have the same size, got '
                             f'{sorted({tuple(x.shape[-2:]) for x in patches})}')
        return (inputs[0], inputs[1], torch.stack(patches[:p], 1),
                torch.stack(patches[p:], 1))

    def _levels(self, branch: nn.ModuleDict, images: Tensor) -> Tuple[Tensor, ...]:
        levels = tuple(branch['backbone'](images))
        if len(levels) != len(self.stage_weights):
            raise ValueError(f'the backbone gave {len(levels)} levels for '
                             f'{len(self.stage_weights)} stages')
        return levels

    def encode_global(self, branch: nn.ModuleDict, views: Tensor
                      ) -> Tuple[Tensor, ...]:
        """Per stage, the (N, D) global representations of (N, 3, H, W) views.

        Args:
            branch (nn.ModuleDict): :meth:`online_modules` or :attr:`target`.
            views (Tensor): (N, 3, H, W) global views.

        Returns:
            tuple[Tensor, ...]: One (N, D) tensor per stage.
        """
        return tuple(head((x, ))[0] for head, x in
                     zip(branch['global_heads'], self._levels(branch, views)))

    def encode_local(self, branch: nn.ModuleDict, patch_sets: Tensor
                     ) -> Tuple[Tensor, ...]:
        """Per stage, the (N, D) local representations of patch sets.

        Args:
            branch (nn.ModuleDict): :meth:`online_modules` or :attr:`target`.
            patch_sets (Tensor): (N, P, 3, h, w) patch sets; the backbone sees
                the N P patches as one batch.

        Returns:
            tuple[Tensor, ...]: One (N, D) tensor per stage.
        """
        n, p = patch_sets.shape[:2]
        levels = self._levels(branch, patch_sets.flatten(0, 1))
        # (N P, C) pooled patches -> (N, P C): patch i at [i C, (i + 1) C)
        return tuple(head((x.mean((2, 3)).reshape(n, p * x.shape[1]), ))[0]
                     for head, x in zip(branch['local_heads'], levels))

    # ------------------------------------------------------------------ loss
    def loss(self, inputs: List[Tensor], data_samples: Sequence = ()
             ) -> Dict[str, Tensor]:
        """DetCo's losses.

        Args:
            inputs (list[Tensor]): Normalised views: X1, X2, X1's patches, X2's
                patches (see the class docstring).
            data_samples (Sequence): Unused (DetCo's views carry no boxes).

        Returns:
            dict[str, Tensor]: ``loss_{stage}_{term}`` (already multiplied by the
            stage's weight; their sum is the loss) for each stage (``res2`` ..
            ``res5``) and term (``g2g``, ``l2l``, ``l2g``); ``momentum`` for the
            log.
        """
        x1, x2, x3, x4 = self.split_views(inputs)
        self.update_target()  # before the key forward, as MoCo
        online = self.online_modules()
        q_global = self.encode_global(online, x1)
        q_local = self.encode_local(online, x3)
        with torch.no_grad():
            target = self.target
            k_global = forward_shuffled(
                lambda x: self.encode_global(target, x), x2)
            k_local = forward_shuffled(lambda x: self.encode_local(target, x), x4)
        losses = {}
        for s, name in enumerate(self.stage_names):
            terms = self.stage_terms(q_global[s], q_local[s], k_global[s],
                                     k_local[s], self.global_queues[s].features,
                                     self.local_queues[s].features)
            for term, value in zip(TERMS, terms):
                losses[f'loss_{name}_{term}'] = self.stage_weights[s] * value
        for s in range(len(self.stage_names)):
            self.global_queues[s].enqueue(k_global[s])
            self.local_queues[s].enqueue(k_local[s])
        # the last stage's queues: the embeddings the transfer keeps
        return self.with_scalars(
            losses, momentum=self.current_momentum(),
            global_queue_cosine=self.global_queues[-1].mean_cosine(),
            local_queue_cosine=self.local_queues[-1].mean_cosine())

    def stage_terms(self, q_global: Tensor, q_local: Tensor, k_global: Tensor,
                    k_local: Tensor, global_queue: Tensor, local_queue: Tensor
                    ) -> Tuple[Tensor, Tensor, Tensor]:
        """The three unweighted InfoNCE terms of one stage.

        Args:
            q_global (Tensor): (N, D) X1's global queries.
            q_local (Tensor): (N, D) X3's local queries.
            k_global (Tensor): (N, D) X2's global keys.
            k_local (Tensor): (N, D) X4's local keys.
            global_queue (Tensor): (M, D) past global keys.
            local_queue (Tensor): (M', D) past local keys.

        Returns:
            tuple[Tensor, Tensor, Tensor]: ``g2g``, ``l2l``, ``l2g``.
        """
        return (self.contrast(q_global, k_global, global_queue),
                self.contrast(q_local, k_local, local_queue),
                self.contrast(q_local, k_global, global_queue))
