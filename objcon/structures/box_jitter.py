"""Random box candidates around given boxes (torch, batched)."""
from typing import Optional, Tuple

import torch
from torch import Tensor


def jitter_candidates(boxes: Tensor, img_wh: Tuple[float, float],
                      num: int = 10, shift: float = 0.15,
                      log_scale: float = 0.35,
                      generator: Optional[torch.Generator] = None) -> Tensor:
    """``num`` jittered copies of every box, then the box itself (CCOP).

    Per copy: the centre moves by ``U(-shift/2, shift/2) * (w, h)``, the width
    and height are multiplied by ``exp(U(-log_scale/2, log_scale/2))`` (each
    drawn on its own), and the box is clamped to the image.

    Args:
        boxes (Tensor): (..., 4) pixel xyxy.
        img_wh (tuple[float, float]): (W, H) of the image the boxes are on.
        num (int): Jittered copies per box. Defaults to 10.
        shift (float): Centre shift magnitude (fraction of w, h). Defaults to
            0.15.
        log_scale (float): Log-scale magnitude. Defaults to 0.35.
        generator (torch.Generator, optional): Random draws. Defaults to
            torch's global generator.

    Returns:
        Tensor: (..., num + 1, 4) candidates; index ``num`` is the box itself.
    """
    if num < 0 or shift < 0 or log_scale < 0:
        raise ValueError('num, shift and log_scale must be >= 0, got '
                         f'{num}, {shift}, {log_scale}')
    shape = (*boxes.shape[:-1], num, 2)

    def uniform(magnitude: float) -> Tensor:
        u = torch.rand(shape, generator=generator, dtype=boxes.dtype,
                       device='cpu' if generator is not None else boxes.device)
        return ((u - 0.5) * magnitude).to(boxes.device)

    wh = (boxes[..., 2:] - boxes[..., :2]).unsqueeze(-2)
    centre = (boxes[..., :2] + boxes[..., 2:]).unsqueeze(-2) / 2
    centre = centre + uniform(shift) * wh
    wh = wh * uniform(log_scale).exp()
    jittered = torch.cat([centre - wh / 2, centre + wh / 2], -1)
    upper = boxes.new_tensor([img_wh[0], img_wh[1]] * 2)
    jittered = torch.minimum(jittered.clamp(min=0), upper)
    return torch.cat([jittered, boxes.unsqueeze(-2)], -2)
