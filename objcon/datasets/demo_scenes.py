"""Deterministic multi-object scenes: objcon's embedded default data.

Each image holds several objects of several categories (shape, texture, colour, scale,
rotation and occlusion vary) over a textured, cluttered background, saved as JPEG with
a COCO-format annotation file per split (boxes, RLE masks of the *visible* part,
areas, categories). The same seed gives byte-identical files, so tests, demos and
benchmarks all see the same data without shipping it.

Layout written under ``out_dir``::

    train/000000.jpg ...             images of the train split
    val/000000.jpg ...               images of the val split
    annotations/instances_train.json
    annotations/instances_val.json

It loads unchanged in ``pycocotools.coco.COCO`` and mmdet's ``CocoDataset`` (with
``metainfo=dict(classes=DEMO_CLASSES)``).
"""
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

DEMO_CLASSES = ('circle', 'rectangle', 'triangle', 'star', 'hexagon', 'cross')
GENERATOR_VERSION = 1

# Objects keep an annotation only if this much of them stays visible.
MIN_VISIBLE_FRACTION = 0.3
MIN_VISIBLE_AREA = 48


def _polygon(category: str, rng: np.random.Generator, size: float,
             aspect: float) -> np.ndarray:
    """Vertices (N, 2) of a shape centred at the origin, before rotation."""
    half_w, half_h = size * np.sqrt(aspect) / 2, size / np.sqrt(aspect) / 2
    if category == 'circle':
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        return np.stack([half_w * np.cos(t), half_h * np.sin(t)], 1)
    if category == 'rectangle':
        return np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h],
                         [-half_w, half_h]])
    if category == 'triangle':
        apex = rng.uniform(-0.6, 0.6) * half_w
        return np.array([[apex, -half_h], [half_w, half_h], [-half_w, half_h]])
    if category == 'star':
        points = int(rng.integers(5, 8))
        inner = rng.uniform(0.38, 0.55)
        t = np.linspace(0, 2 * np.pi, 2 * points, endpoint=False) - np.pi / 2
        r = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
        return np.stack([half_w * r * np.cos(t), half_h * r * np.sin(t)], 1)
    if category == 'hexagon':
        t = np.linspace(0, 2 * np.pi, 6, endpoint=False)
        return np.stack([half_w * np.cos(t), half_h * np.sin(t)], 1)
    if category == 'cross':
        a = rng.uniform(0.22, 0.4)  # arm half-thickness relative to half size
        x, y = half_w * a, half_h * a
        return np.array([[-x, -half_h], [x, -half_h], [x, -y], [half_w, -y],
                         [half_w, y], [x, y], [x, half_h], [-x, half_h],
                         [-x, y], [-half_w, y], [-half_w, -y], [-x, -y]])
    raise ValueError(f'unknown category {category!r}')


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    hsv = np.uint8([[[rng.integers(0, 180), rng.integers(90, 256),
                      rng.integers(90, 256)]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A (h, w, 3) float32 texture: solid, stripes, checker, dots or noise."""
    c1, c2 = _random_colour(rng), _random_colour(rng)
    kind = rng.integers(0, 5)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == 0:
        pattern = np.zeros((h, w), np.float32)
    elif kind == 1:
        theta = rng.uniform(0, np.pi)
        period = rng.uniform(5, 14)
        proj = xx * np.cos(theta) + yy * np.sin(theta)
        pattern = ((proj // (period / 2)) % 2).astype(np.float32)
    elif kind == 2:
        cell = rng.uniform(5, 12)
        pattern = (((xx // cell) + (yy // cell)) % 2).astype(np.float32)
    elif kind == 3:
        period = rng.uniform(7, 14)
        dist = np.hypot((xx % period) - period / 2, (yy % period) - period / 2)
        pattern = (dist < period * rng.uniform(0.2, 0.35)).astype(np.float32)
    else:
        small = rng.random((max(h // 6, 2), max(w // 6, 2))).astype(np.float32)
        pattern = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        pattern = np.clip(pattern, 0, 1)
    tex = c1[None, None] * (1 - pattern[..., None]) + c2[None, None] * pattern[..., None]
    # A soft light gradient so objects are not flat.
    gx, gy = rng.uniform(-0.25, 0.25, 2)
    light = 1 + gx * (xx / max(w, 1) - 0.5) + gy * (yy / max(h, 1) - 0.5)
    return tex * light[..., None]


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A textured, cluttered background without object-like shapes of a category."""
    low = rng.random((4, 4, 3)).astype(np.float32) * 255
    img = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, rng.uniform(4, 14), (h, w, 1)).astype(np.float32)
    img = np.clip(img * rng.uniform(0.5, 0.9) + grain + 30, 0, 255)
    for _ in range(int(rng.integers(6, 16))):  # clutter: random strokes
        p1 = tuple(int(v) for v in rng.integers(0, (w, h)))
        p2 = tuple(int(v) for v in rng.integers(0, (w, h)))
        colour = tuple(float(v) for v in _random_colour(rng) * 0.7)
        cv2.line(img, p1, p2, colour, int(rng.integers(1, 3)), cv2.LINE_AA)
    return img


def render_scene(rng: np.random.Generator,
                 height: int,
                 width: int,
                 num_objects: Tuple[int, int] = (2, 7),
                 size_range: Tuple[float, float] = (0.12, 0.5)
                 ) -> Tuple[np.ndarray, List[dict]]:
    """Render one scene.

    Args:
        rng (np.random.Generator): Source of all randomness of the scene.
        height (int): Image height in pixels.
        width (int): Image width in pixels.
        num_objects (tuple[int, int]): Inclusive range of objects drawn.
        size_range (tuple[float, float]): Object size as a fraction of the shorter
            image side.

    Returns:
        tuple: The BGR uint8 image and a list of objects, each a dict with
        ``category_id`` (1-based), ``mask`` (visible part, bool HxW).
    """
    img = _background(rng, height, width)
    owner = np.full((height, width), -1, np.int32)
    drawn = []
    n = int(rng.integers(num_objects[0], num_objects[1] + 1))
    for idx in range(n):
        cat = int(rng.integers(0, len(DEMO_CLASSES)))
        size = rng.uniform(*size_range) * min(height, width)
        aspect = rng.uniform(0.6, 1.6) if DEMO_CLASSES[cat] != 'circle' \
            else rng.uniform(0.75, 1.33)
        poly = _polygon(DEMO_CLASSES[cat], rng, size, aspect)
        angle = rng.uniform(0, 2 * np.pi)
        rot = np.array([[np.cos(angle), -np.sin(angle)],
                        [np.sin(angle), np.cos(angle)]])
        centre = rng.uniform([0.05 * width, 0.05 * height],
                             [0.95 * width, 0.95 * height])
        pts = poly @ rot.T + centre
        mask = np.zeros((height, width), np.uint8)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
        full_area = int(mask.sum())
        if full_area == 0:
            continue
        tex = _texture(rng, height, width)
        sel = mask.astype(bool)
        img[sel] = tex[sel]
        owner[sel] = idx
        drawn.append((idx, cat + 1, full_area))
    img = cv2.GaussianBlur(img, (3, 3), 0.6)
    img = np.clip(img + rng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)

    objects = []
    for idx, cat_id, full_area in drawn:
        visible = owner == idx
        area = int(visible.sum())
        if area < MIN_VISIBLE_AREA or area < MIN_VISIBLE_FRACTION * full_area:
            continue
        objects.append(dict(category_id=cat_id, mask=visible))
    return img, objects


def mask_to_annotation(mask: np.ndarray) -> Optional[dict]:
    """COCO ``bbox`` (xywh), ``segmentation`` (compressed RLE) and ``area`` of a mask.

    RLE rather than polygons: it is exact for occluded, holed or fragmented visible
    regions, and pycocotools, mmdet's LoadAnnotations (``poly2mask=True``) and
    CocoMetric all read it. Returns None for an empty mask.
    """
    from pycocotools import mask as mask_utils
    if not mask.any():
        return None
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return dict(
        bbox=[x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1],
        segmentation=dict(size=[int(v) for v in rle['size']],
                          counts=rle['counts'].decode('ascii')),
        area=int(mask.sum()))


def _scene_rng(seed: int, split: str, index: int) -> np.random.Generator:
    split_key = sum(ord(c) * 31**i for i, c in enumerate(split))
    return np.random.default_rng(np.random.SeedSequence([seed, split_key, index]))


def generate_split(out_dir: str,
                   split: str,
                   num_images: int,
                   seed: int = 0,
                   image_size: Tuple[int, int] = (256, 256),
                   jpeg_quality: int = 92,
                   progress: Optional[Callable[[int], None]] = None) -> str:
    """Render one split and write its images and COCO json.

    Args:
        out_dir (str): Dataset root.
        split (str): Split name (``train``, ``val``, ...); images go to
            ``out_dir/split/``.
        num_images (int): Number of images.
        seed (int): Dataset seed; every image has its own stream derived from
            (seed, split, index). Defaults to 0.
        image_size (tuple[int, int]): (height, width). Defaults to (256, 256).
        jpeg_quality (int): JPEG quality. Defaults to 92.
        progress (callable, optional): Called with 1 after each image.

    Returns:
        str: Path of the written annotation file.
    """
    if num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}')
    height, width = image_size
    if min(height, width) < 32:
        raise ValueError(f'image_size must be at least 32x32, got {image_size}')
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)

    images, annotations = [], []
    for i in range(num_images):
        img, objects = render_scene(_scene_rng(seed, split, i), height, width)
        file_name = f'{i:06d}.jpg'
        ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        if not ok:
            raise RuntimeError(f'JPEG encoding failed for {file_name}')
        with open(osp.join(out_dir, split, file_name), 'wb') as f:
            f.write(buf.tobytes())
        images.append(dict(id=i + 1, file_name=file_name, height=height, width=width))
        for obj in objects:
            ann = mask_to_annotation(obj['mask'])
            if ann is None:
                continue
            ann.update(id=len(annotations) + 1, image_id=i + 1,
                       category_id=obj['category_id'], iscrowd=0)
            annotations.append(ann)
        if progress is not None:
            progress(1)

    coco = dict(
        info=dict(description='objcon demo scenes', version=GENERATOR_VERSION,
                  seed=seed, split=split),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[dict(id=i + 1, name=n, supercategory='shape')
                    for i, n in enumerate(DEMO_CLASSES)])
    ann_file = osp.join(out_dir, 'annotations', f'instances_{split}.json')
    tmp = ann_file + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(coco, f, separators=(',', ':'))
    os.replace(tmp, ann_file)  # a killed run never leaves a half-written json
    return ann_file


def generate_demo_scenes(out_dir: str,
                         splits: Optional[Dict[str, int]] = None,
                         seed: int = 0,
                         image_size: Tuple[int, int] = (256, 256),
                         show_progress: bool = True) -> Dict[str, str]:
    """Write the demo dataset (all splits) under ``out_dir``.

    Args:
        out_dir (str): Dataset root.
        splits (dict[str, int], optional): Images per split. Defaults to
            ``{'train': 400, 'val': 100}``.
        seed (int): Dataset seed. Defaults to 0.
        image_size (tuple[int, int]): (height, width). Defaults to (256, 256).
        show_progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict[str, str]: Split name -> annotation file.
    """
    splits = splits or dict(train=400, val=100)
    total = sum(splits.values())
    bar = None
    if show_progress:
        from tqdm import tqdm
        bar = tqdm(total=total, desc='demo scenes', unit='img')
    try:
        return {
            split: generate_split(out_dir, split, n, seed, image_size,
                                  progress=bar.update if bar else None)
            for split, n in splits.items()
        }
    finally:
        if bar is not None:
            bar.close()


def demo_scenes_exist(out_dir: str, splits: Sequence[str] = ('train', 'val')) -> bool:
    """Whether every split's annotation file is present under ``out_dir``."""
    return all(
        osp.isfile(osp.join(out_dir, 'annotations', f'instances_{s}.json'))
        for s in splits)
