"""numpy operations on pixel ``xyxy`` boxes (docs/boxes.md)."""
import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes.

    Args:
        a (np.ndarray): (N, 4) boxes.
        b (np.ndarray): (M, 4) boxes.

    Returns:
        np.ndarray: (N, M) float64 IoU; 0 where a union is empty.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clip(0).prod(-1)
    union = area_a[:, None] + area_b[None] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_thr: float) -> np.ndarray:
    """Greedy non-maximum suppression.

    Args:
        boxes (np.ndarray): (N, 4) xyxy boxes.
        scores (np.ndarray): (N,) scores; higher is visited first.
        iou_thr (float): A box is suppressed by a kept one if their IoU > iou_thr.

    Returns:
        np.ndarray: int64 indices of the kept boxes, in decreasing score order.
    """
    order = np.argsort(-np.asarray(scores), kind='stable')
    iou = box_iou(boxes, boxes)
    suppressed = np.zeros(len(order), bool)
    keep = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_thr
    return np.asarray(keep, np.int64)


def whole_image_box(img_hw) -> np.ndarray:
    """The (1, 4) float32 box ``[0, 0, W, H]`` of an image of size (H, W)."""
    h, w = img_hw[:2]
    return np.array([[0, 0, w, h]], np.float32)


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) ``[x, y, w, h]`` -> float32 ``[x1, y1, x2, y2]``."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) ``[x1, y1, x2, y2]`` -> ``[x, y, w, h]`` (same dtype)."""
    boxes = np.asarray(boxes).reshape(-1, 4).copy()
    boxes[:, 2:] -= boxes[:, :2]
    return boxes


def intersect(boxes: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Intersection of each box with one region (may be empty: x2 <= x1).

    Args:
        boxes (np.ndarray): (N, 4) xyxy.
        region (np.ndarray): (4,) xyxy.

    Returns:
        np.ndarray: (N, 4) xyxy, not validated.
    """
    return np.concatenate([np.maximum(boxes[:, :2], region[:2]),
                           np.minimum(boxes[:, 2:], region[2:])], axis=1)


def box_area(boxes: np.ndarray) -> np.ndarray:
    """Area of each box, 0 for empty ones.

    Args:
        boxes (np.ndarray): (N, 4) xyxy.

    Returns:
        np.ndarray: (N,) areas.
    """
    wh = np.clip(boxes[:, 2:] - boxes[:, :2], 0, None)
    return wh[:, 0] * wh[:, 1]
