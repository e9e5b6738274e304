"""Drawing proposals (and masks) on an image, for inspection."""
from typing import Optional

import cv2
import numpy as np


def draw_proposals(img: np.ndarray,
                   boxes: np.ndarray,
                   masks: Optional[np.ndarray] = None,
                   max_boxes: Optional[int] = None,
                   mask_alpha: float = 0.45,
                   seed: int = 0) -> np.ndarray:
    """A copy of ``img`` with its proposals drawn, each in its own colour.

    Args:
        img (np.ndarray): HxWx3 uint8 BGR image.
        boxes (np.ndarray): (N, 4) pixel xyxy boxes on ``img``.
        masks (np.ndarray, optional): HxW int segment ids (-1: none), blended in
            a colour per segment. Defaults to None.
        max_boxes (int, optional): Draw only the first boxes. Defaults to None.
        mask_alpha (float): Opacity of the masks. Defaults to 0.45.
        seed (int): Seed of the colours. Defaults to 0.

    Returns:
        np.ndarray: The drawing, HxWx3 uint8 BGR.
    """
    out = img.copy()
    rng = np.random.default_rng(seed)
    if masks is not None and masks.size:
        palette = rng.integers(40, 256, (int(masks.max()) + 2, 3)).astype(np.float32)
        colour = palette[masks.clip(-1) + 1]
        blend = out.astype(np.float32) * (1 - mask_alpha) + colour * mask_alpha
        out = np.where((masks >= 0)[..., None], blend, out).astype(np.uint8)
        # Segment borders, so neighbours of similar colour stay apart.
        edges = cv2.morphologyEx(masks.astype(np.float32), cv2.MORPH_GRADIENT,
                                 np.ones((3, 3), np.uint8)) > 0
        out[edges] = (255, 255, 255)
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)[:max_boxes]
    thickness = max(1, round(max(img.shape[:2]) / 300))
    for box in boxes:
        c = tuple(int(v) for v in rng.integers(40, 256, 3))
        x1, y1, x2, y2 = np.round(box).astype(int)
        cv2.rectangle(out, (x1, y1), (max(x1, x2 - 1), max(y1, y2 - 1)), c, thickness)
    return out
