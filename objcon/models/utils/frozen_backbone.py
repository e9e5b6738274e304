"""A frozen, pretrained backbone that embeds image crops (DETReg's and UP-DETR's
targets)."""
import os.path as osp
from typing import Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from objcon.errors import InputError
from objcon.registry import MODELS


def load_backbone_checkpoint(backbone: nn.Module, checkpoint: str,
                             prefix: str = 'backbone.') -> None:
    """Load every tensor of ``backbone`` from a checkpoint's ``prefix`` keys.

    Args:
        backbone (nn.Module): The module to load (all its tensors must be found;
            keys of stages it does not have are ignored).
        checkpoint (str): A training checkpoint (``state_dict``) or a bare state
            dict.
        prefix (str): Prefix of the backbone's keys. Defaults to ``'backbone.'``.

    Raises:
        InputError: If the file is missing or unreadable, or lacks a tensor of
            ``backbone`` (or has it with another shape).
    """
    import objcon  # noqa: F401  (safe globals for Runner checkpoints)
    if not checkpoint or not osp.isfile(checkpoint):
        raise InputError(
            f'the frozen target backbone needs a checkpoint; no file at '
            f'{checkpoint!r}. Set it in the config (e.g. --cfg-options '
            f'target_checkpoint=PATH) to an objcon or mmpretrain '
            f'self-supervised checkpoint of the same ResNet')
    try:
        state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is refused
        raise InputError(f'cannot read the target checkpoint {checkpoint!r}: '
                         f'{e}') from None
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    own = backbone.state_dict()
    found = {k[len(prefix):]: v for k, v in state.items()
             if k.startswith(prefix) and k[len(prefix):] in own} \
        if isinstance(state, dict) else {}
    missing = sorted(set(own) - set(found))
    shapes = sorted(k for k, v in found.items() if v.shape != own[k].shape)
    if missing or shapes:
        raise InputError(
            f'{checkpoint!r} does not hold this backbone under {prefix!r}: '
            f'{len(missing)} of its {len(own)} tensors missing '
            f'{missing[:3]}, {len(shapes)} of another shape {shapes[:3]} '
            f'(another depth, or another prefix?)')
    backbone.load_state_dict(found)


@MODELS.register_module()
class FrozenBackbone(BaseModule):
    """Global-average-pooled features of one ResNet stage, from fixed weights.

    The weights come from a checkpoint file and never change: every parameter has
    ``requires_grad=False``, the module stays in eval mode (BN statistics are not
    updated) whatever ``train()`` asks, :meth:`init_weights` keeps the loaded
    weights, and :meth:`forward` runs without autograd. Only the stages up to
    ``stage`` are built.

    Args:
        backbone (dict): Backbone config (mmdet's ``ResNet``); ``num_stages``
            and ``out_indices`` are set from ``stage``.
        checkpoint (str): A checkpoint holding the backbone: an objcon or
            mmpretrain training checkpoint (``state_dict`` with ``backbone.``
            keys: its online backbone), or a bare state dict.
        stage (int): The ResNet stage pooled, 0-based: 1 is res3 (``layer2``,
            512-d for ResNet-50: DETReg), 3 is res5 (2048-d: UP-DETR).
            Defaults to 1.
        prefix (str): Prefix of the backbone's keys in the checkpoint; ``''``
            for a torchvision-style ResNet state dict. Defaults to
            ``'backbone.'``.
        mean (Sequence[float]): Per-channel mean of the RGB input, in 0-255.
            Defaults to ImageNet's.
        std (Sequence[float]): Per-channel std. Defaults to ImageNet's.
        bgr_to_rgb (bool): The crops are BGR (as decoded by OpenCV). Defaults
            to True.

    Raises:
        InputError: If the checkpoint is missing, unreadable or holds no (or
            another) backbone.
    """

    def __init__(self,
                 backbone: dict,
                 checkpoint: str,
                 stage: int = 1,
                 prefix: str = 'backbone.',
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True) -> None:
        super().__init__()
        if not 0 <= stage <= 3:
            raise ValueError(f'stage must be 0-3 (res2-res5), got {stage}')
        n = stage + 1
        cfg = dict(backbone, num_stages=n, out_indices=(stage, ), init_cfg=None,
                   strides=tuple(backbone.get('strides', (1, 2, 2, 2)))[:n],
                   dilations=tuple(backbone.get('dilations', (1, 1, 1, 1)))[:n])
        cfg.pop('frozen_stages', None)
        self.backbone = MODELS.build(cfg)
        self.stage = stage
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.bgr_to_rgb = bgr_to_rgb
        self.register_buffer('mean', torch.tensor(mean).view(1, 3, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(1, 3, 1, 1), False)
        self.load_backbone(checkpoint, prefix)
        self.backbone.requires_grad_(False)
        self.backbone.eval()

    @property
    def out_channels(self) -> int:
        """Width of the pooled feature."""
        return self.backbone.feat_dim

    def load_backbone(self, checkpoint: str, prefix: str) -> None:
        """Load the backbone's weights from ``checkpoint`` (see the class)."""
        load_backbone_checkpoint(self.backbone, checkpoint, prefix)

    def init_weights(self) -> None:
        """Keep the checkpoint's weights (the Runner calls this after build)."""

    def train(self, mode: bool = True) -> 'FrozenBackbone':
        """Stay in eval mode: the frozen BN statistics are never updated."""
        super().train(False)
        return self

    @torch.no_grad()
    def forward(self, crops: Tensor) -> Tensor:
        """Pooled features of uint8 (or 0-255 float) crops.

        Args:
            crops (Tensor): (N, 3, H, W) crops, BGR if ``bgr_to_rgb``.

        Returns:
            Tensor: (N, C) float features.
        """
        x = crops.float()
        if self.bgr_to_rgb:
            x = x.flip(1)
        x = (x - self.mean) / self.std
        feat = self.backbone(x)[-1]
        return feat.mean((2, 3))
