"""Benchmark the proposal sources on the demo scenes (a script, not a test).

For each source, on the same images: time per image (source + SoCo's filter, one
thread, after one untimed warm-up call), boxes per image after SoCo's filter,
recall of the ground-truth boxes at IoU 0.5 and 0.7, bytes per image in objcon's
cache and in SoCo's JSON (``{image: [[x, y, w, h], ...]}``) for the same boxes. The pure-Python
``selectivesearch`` package (SoCo's reference algorithm; ``pip install -r
requirements/bench.txt``) runs on the same images when installed.

Example::

    python benchmarks/proposals.py --num-images 50 --size 256
"""
import argparse
import json
import os.path as osp
import tempfile
import time
import warnings
from typing import Callable, Dict, List, Optional

import cv2
import numpy as np

from objcon.datasets import generate_demo_scenes
from objcon.proposals import (SOCO_FILTER, BoxFilter, box_iou, read_image,
                              whole_image_box, write_proposal_cache, xywh_to_xyxy)
from objcon.registry import PROPOSAL_SOURCES

# (row name, source config); each source's own filter is off: SoCo's is applied to
# every row alike.
SOURCES = [
    ('objcon SelectiveSearch, defaults (custom, 64 px, HSV+Lab, k 50, 2 strategies)',
     dict(type='SelectiveSearch')),
    ('objcon SelectiveSearch single, 64 px, k=50',
     dict(type='SelectiveSearch', mode='single', max_side=64, base_k=50)),
    ('objcon SelectiveSearch fast, 128 px (DETReg/CCOP-like)',
     dict(type='SelectiveSearch', mode='fast', max_side=128)),
    ('objcon SelectiveSearch fast, full res',
     dict(type='SelectiveSearch', mode='fast', max_side=None)),
    ('objcon SelectiveSearch quality, 128 px',
     dict(type='SelectiveSearch', mode='quality', max_side=128)),
    ('objcon FelzenszwalbSegments (DetCon: k 1000, min 1000)',
     dict(type='FelzenszwalbSegments', scale=1000, min_size=1000)),
    ('objcon GridBoxes 4x4', dict(type='GridBoxes', rows=4, cols=4)),
    ('objcon RandomBoxes 16', dict(type='RandomBoxes', num=16, seed=0)),
    ('objcon WholeImage', dict(type='WholeImage')),
]


def soco_json_bytes(boxes: Dict[str, np.ndarray]) -> int:
    """Size of SoCo's JSON for these boxes (``json.dump`` defaults, integer xywh)."""
    soco = {k: [[x1, y1, x2 - x1, y2 - y1]
                for x1, y1, x2, y2 in np.round(v).astype(int).tolist()]
            for k, v in boxes.items()}
    return len(json.dumps(soco).encode())


def pypi_selective_search() -> Optional[Callable]:
    """SoCo's call of the PyPI ``selectivesearch`` package, or None if absent."""
    try:
        import selectivesearch
    except ImportError:
        return None

    def run(img_bgr: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # skimage deprecation noise
            _, regions = selectivesearch.selective_search(
                img_bgr[:, :, ::-1], scale=300, sigma=0.9, min_size=100)
        # SoCo reads 'rect' as x, y, w, h.
        return xywh_to_xyxy([r['rect'] for r in regions])

    return run


def evaluate(name: str, propose: Callable, images: List[tuple],
             unit: Callable = lambda hw: (1.0, 1.0)) -> dict:
    """Run one source over the images and measure it."""
    soco = BoxFilter(**SOCO_FILTER)
    propose(images[0][1], images[0][0])  # warm-up, untimed (first-call set-up)
    seconds, hits5, hits7, num_gt = 0.0, 0, 0, 0
    boxes, units = {}, {}
    for key, img, gt in images:
        start = time.perf_counter()
        found = soco(propose(img, key), img.shape[:2])
        if not len(found):  # the documented empty fallback
            found = whole_image_box(img.shape[:2])
        seconds += time.perf_counter() - start
        boxes[key], units[key] = found, unit(img.shape[:2])
        if len(gt):
            best = box_iou(gt, found).max(1)
            hits5 += int((best >= 0.5).sum())
            hits7 += int((best >= 0.7).sum())
            num_gt += len(gt)
    with tempfile.TemporaryDirectory() as tmp:
        cache = write_proposal_cache(
            tmp, boxes, units=units,
            sizes={k: img.shape[:2] for k, img, _ in images})
        cache_bytes = cache.nbytes()
        exact = all(np.array_equal(cache[k], boxes[k]) for k in boxes)
    json_bytes = soco_json_bytes(boxes)
    n = len(images)
    return dict(name=name, images=n, ms=1000 * seconds / n,
                boxes=sum(len(b) for b in boxes.values()) / n,
                r50=hits5 / max(num_gt, 1), r70=hits7 / max(num_gt, 1),
                cache=cache_bytes / n, json=json_bytes / n,
                ratio=cache_bytes / json_bytes, exact=exact)


def load_images(root: str, split: str, num: int) -> List[tuple]:
    with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
        coco = json.load(f)
    gt: Dict[int, list] = {}
    for ann in coco['annotations']:
        gt.setdefault(ann['image_id'], []).append(ann['bbox'])
    images = []
    for im in coco['images'][:num]:
        key = f'{split}/{im["file_name"]}'
        img, reason = read_image(osp.join(root, key))
        if img is None:
            raise RuntimeError(f'{key}: {reason}')
        images.append((key, img, xywh_to_xyxy(gt.get(im['id'], []))))
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', help='demo scenes root to reuse (default: '
                        'generate the val split into a temporary folder)')
    parser.add_argument('--num-images', type=int, default=50)
    parser.add_argument('--size', type=int, default=256, help='image side')
    parser.add_argument('--pypi-images', type=int, default=None,
                        help='run `selectivesearch` on the first N images only '
                        '(default: all)')
    args = parser.parse_args()
    cv2.setNumThreads(1)  # per-image, single-thread timings for every row

    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_root
        if root is None:
            root = tmp
            generate_demo_scenes(root, dict(val=args.num_images), seed=0,
                                 image_size=(args.size, args.size),
                                 show_progress=False)
        images = load_images(root, 'val', args.num_images)
    num_gt = sum(len(g) for _, _, g in images)
    print(f'{len(images)} demo val images, {args.size}x{args.size}, {num_gt} '
          f'ground-truth boxes; SoCo filter on every row\n')

    rows = []
    pypi = pypi_selective_search()
    subset = images[:args.pypi_images] if args.pypi_images else images
    if pypi is None:
        print('`selectivesearch` is not installed: its row is skipped '
              '(pip install -r requirements/bench.txt)\n')
    else:
        rows.append(evaluate('PyPI selectivesearch (SoCo: scale 300, sigma 0.9, '
                             'min 100, full res)', lambda img, key: pypi(img), subset))
    for name, cfg in SOURCES:
        source = PROPOSAL_SOURCES.build(cfg)
        rows.append(evaluate(name, source.propose, images, source.box_unit))
        if pypi is not None and len(subset) < len(images) and rows[-1] is rows[1]:
            rows.append(evaluate(name + f' (first {len(subset)})', source.propose,
                                 subset, source.box_unit))

    base = rows[0] if pypi is not None else None
    print('| source | images | ms / image | speed-up vs PyPI | boxes / image | '
          'recall@0.5 | recall@0.7 | cache B / image | SoCo JSON B / image | '
          'cache / JSON | exact round trip |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        speed = f'{base["ms"] / r["ms"]:.0f}x' if base else 'n/a'
        print(f'| {r["name"]} | {r["images"]} | {r["ms"]:.1f} | {speed} | '
              f'{r["boxes"]:.1f} | {r["r50"]:.3f} | {r["r70"]:.3f} | '
              f'{r["cache"]:.0f} | {r["json"]:.0f} | {r["ratio"]:.3f} | '
              f'{"yes" if r["exact"] else "no (rounded to pixels)"} |')


if __name__ == '__main__':
    main()
