"""Inference with a pretraining model on single images: its in-model proposals.

Used by ``tools/visualize_proposals.py --heatmap`` and
``benchmarks/heatmap_recall.py``; public API of the model and its generator only.
"""
from typing import Optional, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config


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


@torch.no_grad()
def inference_heatmap(model, cfg: Config, img: np.ndarray
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """Heat map and boxes of one image, as the model makes them after the
    warm-up (the image resized to the proposal view's size, no flip, no colour
    change).

    Args:
        model: A model from :func:`init_pretrainer` whose ``proposal_generator``
            is a :class:`~objcon.models.proposal_generators.HeatMapProposals`.
        cfg (Config): Its config.
        img (np.ndarray): HxWx3 uint8 BGR image.

    Returns:
        tuple: ``(heat (H, W) float32 in [0, 1], boxes (N, 4) float32 xyxy)`` on
        ``img``.
    """
    generator = model.proposal_generator
    if generator is None or not hasattr(generator, 'heat_map'):
        raise ValueError(f'{type(model).__name__} has no heat-map '
                         'proposal_generator')
    h0, w0 = img.shape[:2]
    vw, vh = proposal_view_size(model, cfg)
    view = cv2.resize(img, (vw, vh), interpolation=cv2.INTER_LINEAR)
    view = torch.from_numpy(np.ascontiguousarray(view.transpose(2, 0, 1)))[None]
    inputs = model.data_preprocessor(dict(inputs=[view], data_samples=None))
    _, last = model.features(model.target, inputs['inputs'][0])
    heat = generator.heat_map(last, (vh, vw))
    boxes = generator.propose(heat, (vh, vw))[0].numpy()
    boxes = boxes * np.array([w0 / vw, h0 / vh] * 2, np.float32)
    heat = cv2.resize(heat[0].numpy(), (w0, h0), interpolation=cv2.INTER_LINEAR)
    return heat.astype(np.float32), boxes.astype(np.float32)
