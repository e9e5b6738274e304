"""Inference with a pretraining model on single images: its in-model proposals.

Used by ``tools/visualize_proposals.py --heatmap`` and
``benchmarks/heatmap_recall.py``; public API of the model and its generator only.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config
from torch import Tensor


def init_pretrainer(config: str, checkpoint: Optional[str] = None,
                    cfg_options: Optional[dict] = None):
    """A pretraining model (in eval mode, on the CPU) and its config.

    Args:
        config (str): Config path (e.g. configs/objcon/soco-heatmap_r18_fpn_demo.py).
        checkpoint (str, optional): Checkpoint to load; None keeps the random
            initialisation (the target network a copy of the online one, as
            at the start of training). Defaults to None.
        cfg_options (dict, optional): Config overrides (named variables too).
            Defaults to None.

    Returns:
        tuple: ``(model, cfg)``.
    """
    from mmengine.runner import load_checkpoint

    from objcon.registry import MODELS
    from objcon.utils import load_config, register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = load_config(config, cfg_options)
    cfg.model.backbone.init_cfg = None  # never a download
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    else:
        model.init_weights()
        model.reset_target()
    return model.eval(), cfg


def find_transform(pipeline, type_name: str) -> dict:
    """The first transform config of ``type_name`` in a pipeline.

    Raises:
        ValueError: The pipeline has none.
    """
    for t in pipeline:
        if str(t.get('type', '')).split('.')[-1] == type_name:
            return t
    raise ValueError(f'no {type_name} in the pipeline')


def proposal_view_size(model, cfg: Config) -> Tuple[int, int]:
    """(w, h) of the view the model's generator proposes on."""
    views = find_transform(cfg.train_dataloader.dataset.pipeline,
                           'ObjectViews')['views']
    size = views[model.proposal_view]['size']
    return (size, size) if isinstance(size, int) else tuple(size)


def _heatmap_generator(model):
    generator = model.proposal_generator
    if generator is None or not hasattr(generator, 'heat_map'):
        raise ValueError(f'{type(model).__name__} has no heat-map '
                         'proposal_generator')
    return generator


@torch.no_grad()
def view_heat_maps(model, cfg: Config, imgs: Sequence[np.ndarray],
                   batch_size: int = 16) -> Tensor:
    """Heat maps of images as the model makes them after the warm-up: each
    image resized to the proposal view's size (no flip, no colour change).

    Args:
        model: A model from :func:`init_pretrainer` whose ``proposal_generator``
            is a :class:`~objcon.models.proposal_generators.HeatMapProposals`.
        cfg (Config): Its config.
        imgs (Sequence[np.ndarray]): HxWx3 uint8 BGR images (any sizes).
        batch_size (int): Images per forward pass. Defaults to 16.

    Returns:
        Tensor: (N, vh, vw) float32 heat maps in [0, 1] on the view.
    """
    generator = _heatmap_generator(model)
    vw, vh = proposal_view_size(model, cfg)
    heats = []
    for i in range(0, len(imgs), batch_size):
        views = torch.stack([torch.from_numpy(np.ascontiguousarray(
            cv2.resize(img, (vw, vh), interpolation=cv2.INTER_LINEAR)
            .transpose(2, 0, 1))) for img in imgs[i:i + batch_size]])
        # The preprocessor takes a list of views, each a (B, 3, H, W) batch.
        inputs = model.data_preprocessor(dict(inputs=[views], data_samples=None))
        _, last = model.features(model.target, inputs['inputs'][0])
        heats.append(generator.heat_map(last, (vh, vw)))
    return torch.cat(heats) if heats else torch.zeros(0, vh, vw)


@torch.no_grad()
def heatmap_boxes(model, heat: Tensor,
                  img_shapes: Sequence[Tuple[int, ...]]) -> List[np.ndarray]:
    """Boxes the model's generator samples from view heat maps, mapped onto
    the images (one draw of its random centres per call).

    Args:
        model: As in :func:`view_heat_maps`.
        heat (Tensor): (N, vh, vw) heat maps from :func:`view_heat_maps`.
        img_shapes (Sequence[tuple]): (H, W, ...) of the N images.

    Returns:
        list[np.ndarray]: N float32 (K, 4) xyxy boxes, on each image.
    """
    generator = _heatmap_generator(model)
    vh, vw = heat.shape[-2:]
    boxes = generator.propose(heat, (vh, vw)).numpy() if len(heat) else []
    return [(b * np.array([s[1] / vw, s[0] / vh] * 2, np.float32)).astype(np.float32)
            for b, s in zip(boxes, img_shapes)]


def inference_heatmap(model, cfg: Config, img: np.ndarray
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """Heat map and boxes of one image, as the model makes them after the
    warm-up (see :func:`view_heat_maps`).

    Args:
        model: As in :func:`view_heat_maps`.
        cfg (Config): Its config.
        img (np.ndarray): HxWx3 uint8 BGR image.

    Returns:
        tuple: ``(heat (H, W) float32 in [0, 1], boxes (N, 4) float32 xyxy)`` on
        ``img``.
    """
    heat = view_heat_maps(model, cfg, [img])
    boxes = heatmap_boxes(model, heat, [img.shape])[0]
    h0, w0 = img.shape[:2]
    heat = cv2.resize(heat[0].numpy(), (w0, h0), interpolation=cv2.INTER_LINEAR)
    return heat.astype(np.float32), boxes
