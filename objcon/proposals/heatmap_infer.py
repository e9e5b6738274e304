"""Heat-map proposals of a (trained or random-init) SoCo model on single images,
for tools/visualize_proposals.py and benchmarks/heatmap_recall.py."""
from typing import Optional, Tuple

import cv2
import numpy as np
import torch


def build_heatmap_model(config: str, checkpoint: Optional[str] = None,
                        cfg_options: Optional[dict] = None):
    """A SoCo model with a heat-map ``proposal_source``, from a config.

    Args:
        config (str): Config path (e.g. configs/objcon/soco-heatmap_r18_fpn_demo.py).
        checkpoint (str, optional): Checkpoint to load; None keeps the random
            initialisation. Defaults to None.
        cfg_options (dict, optional): Config overrides. Defaults to None.

    Returns:
        tuple: ``(model, cfg)``, the model in eval mode on the CPU.
    """
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    from objcon.registry import MODELS
    from objcon.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.model.get('proposal_source') is None:
        raise ValueError(f'{config} has no model.proposal_source')
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    else:
        model.init_weights()
        # The target starts as a copy of the online network (as in training).
        model.target_net.module.load_state_dict(model._online_modules().state_dict())
    return model.eval(), cfg


def view_size(cfg) -> Tuple[int, int]:
    """(w, h) of V1 in the config's ``ObjectViews`` (the view boxes are drawn on)."""
    for t in cfg.train_dataloader.dataset.pipeline:
        if t.get('type') == 'ObjectViews':
            size = t['views'][cfg.model.get('proposal_view', 0)]['size']
            return (size, size) if isinstance(size, int) else tuple(size)
    raise ValueError('no ObjectViews in the training pipeline')


@torch.no_grad()
def heatmap_proposals(model, cfg, img: np.ndarray
                      ) -> Tuple[np.ndarray, np.ndarray]:
    """Heat map and boxes of one image, as the model makes them on V1 after the
    warm-up (whole image resized to V1's size, no flip, no colour change).

    Args:
        model: A model built by :func:`build_heatmap_model`.
        cfg: Its config.
        img (np.ndarray): HxWx3 uint8 BGR image.

    Returns:
        tuple: ``(heat (H, W) float32 in [0, 1], boxes (N, 4) float32 xyxy)``
        on ``img``.
    """
    h0, w0 = img.shape[:2]
    vw, vh = view_size(cfg)
    view = cv2.resize(img, (vw, vh), interpolation=cv2.INTER_LINEAR)
    pre = cfg.model.data_preprocessor
    x = view[..., ::-1] if pre.get('to_rgb', False) else view
    x = (x.astype(np.float32) - np.array(pre.mean, np.float32)) / \
        np.array(pre.std, np.float32)
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
    c5 = model.target_net.module['backbone'](x)[-1]
    source = model.proposal_source
    heat = source.heat_map(c5, (vh, vw))
    boxes = source.propose(heat, (vh, vw))[0].numpy()
    boxes = boxes * np.array([w0 / vw, h0 / vh] * 2, np.float32)
    heat = cv2.resize(heat[0].numpy(), (w0, h0), interpolation=cv2.INTER_LINEAR)
    return heat.astype(np.float32), boxes.astype(np.float32)
