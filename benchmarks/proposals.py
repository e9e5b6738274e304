"""Benchmark the proposal sources on natural photographs and on the demo scenes.

Two image sets, the same rows:

* natural photographs shipped with scikit-image (astronaut, chelsea, coffee, rocket,
  camera, coins), each whole and as two 3/4 crops (top-left, bottom-right);
* demo scenes (``generate_demo_scenes``), with their ground-truth boxes.

For each source: CPU time per image (source + SoCo's filter, process time on one
thread, so that other work on a shared machine counts less; images visited in turn
by every source, after one untimed warm-up call each), boxes per image after SoCo's
filter, and the fraction of the reference boxes it covers at IoU 0.5 and 0.7. The
reference boxes are those of SoCo's own search (preset ``soco-reference``) after the
same filter, duplicates counted once; a box is covered when the source has a box
with IoU >= t with it. On the demo scenes also: recall of the ground-truth boxes,
bytes per image in objcon's cache and in SoCo's JSON (``{image: [[x, y, w, h],
...]}``). The pure-Python ``selectivesearch`` package (the code SoCo's reference
modified; ``pip install -r requirements/bench.txt``) is the speed baseline when
installed.

DetCon's masks: a third table compares objcon's Felzenszwalb-Huttenlocher
segmentation (OpenCV's ``GraphSegmentation``, the ``detcon`` preset: k 1000, min
size 1000, sigma 0.8, full resolution) with scikit-image's ``felzenszwalb`` (the
reference's; same parameters, RGB input) on the same images: segments per image,
adjusted Rand index of the two label maps, mean best overlap (per scikit-image
segment, its best IoU with an OpenCV segment; averaged) and CPU time.

Example::

    python benchmarks/proposals.py --num-images 50 --size 256
"""
import argparse
import json
import os.path as osp
import sys
import tempfile
import time
import warnings
from typing import Callable, Dict, List, Optional

import cv2
import numpy as np

from objcon.datasets import generate_demo_scenes
from objcon.proposals import (PRESETS, SOCO_FILTER, BoxFilter, read_image,
                              write_proposal_cache)
from objcon.registry import PROPOSAL_SOURCES
from objcon.structures import box_iou, whole_image_box, xywh_to_xyxy

REFERENCE = "soco-reference: SoCo's search (SkimageSelectiveSearch, full res)"
DEFAULT = ('objcon SelectiveSearch, defaults (custom, 176 px, HSV, k 175, sigma 0.5, '
           'fill+size & size)')
# (row name, source config); each source's own filter is off: SoCo's is applied to
# every row alike.
SOURCES = [
    (REFERENCE, {k: v for k, v in PRESETS['soco-reference'].items() if k != 'filter'}),
    (DEFAULT, dict(type='SelectiveSearch')),
    # The default's neighbours: how much each choice matters.
    ('objcon SelectiveSearch defaults, 160 px', dict(type='SelectiveSearch',
                                                    max_side=160)),
    ('objcon SelectiveSearch defaults, 192 px', dict(type='SelectiveSearch',
                                                    max_side=192)),
    ('objcon SelectiveSearch defaults, k 150',
     dict(type='SelectiveSearch', ks=(150, ))),
    ('objcon SelectiveSearch defaults, sigma 0.8', dict(type='SelectiveSearch',
                                                       sigma=0.8)),
    ('objcon SelectiveSearch defaults + color+fill+size strategy',
     dict(type='SelectiveSearch', strategies=('color+fill+size', 'fill+size', 'size'))),
    ('objcon SelectiveSearch custom, 64 px, HSV+Lab, k 50, sigma 0.8, '
     'color+fill+size & size (previous default)',
     dict(type='SelectiveSearch', max_side=64, sigma=0.8, color_spaces=('HSV', 'Lab'),
          ks=(50, ), strategies=('color+fill+size', 'size'))),
    ('objcon SelectiveSearch single, 64 px, k=50',
     dict(type='SelectiveSearch', mode='single', max_side=64, base_k=50)),
    ('objcon SelectiveSearch fast, 128 px (DETReg/CCOP-like)',
     dict(type='SelectiveSearch', mode='fast', max_side=128)),
    ('objcon SelectiveSearch fast, 256 px',
     dict(type='SelectiveSearch', mode='fast', max_side=256)),
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
PYPI = 'PyPI selectivesearch 0.4 (scale 300, sigma 0.9, min 100, full res)'
PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket', 'camera', 'coins')


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

    def run(img_bgr: np.ndarray, key: Optional[str] = None) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # skimage deprecation noise
            _, regions = selectivesearch.selective_search(
                img_bgr[:, :, ::-1], scale=300, sigma=0.9, min_size=100)
        # SoCo reads 'rect' as x, y, w, h.
        return xywh_to_xyxy([r['rect'] for r in regions])

    return run


def photographs() -> List[tuple]:
    """(key, BGR image, no boxes) for scikit-image's photographs and their crops."""
    import skimage.data
    images = []
    for name in PHOTOS:
        img = getattr(skimage.data, name)()
        if img.ndim == 2:  # gray photographs, decoded as colour like the pipeline
            img = np.repeat(img[:, :, None], 3, 2)
        img = np.ascontiguousarray(img[:, :, 2::-1])
        h, w = img.shape[:2]
        ch, cw = h * 3 // 4, w * 3 // 4
        empty = np.zeros((0, 4), np.float32)
        images += [(name, img, empty),
                   (f'{name}_top_left', img[:ch, :cw].copy(), empty),
                   (f'{name}_bottom_right', img[h - ch:, w - cw:].copy(), empty)]
    return images


def demo_scenes(root: str, split: str, num: int) -> List[tuple]:
    """(key, BGR image, ground-truth xyxy boxes) of a demo-scenes split."""
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


def run_sources(rows: List[tuple], images: List[tuple]) -> Dict[str, dict]:
    """Boxes (after SoCo's filter) and CPU seconds of every row on every image.

    Each image is visited by every source in turn, so that a change of load on the
    machine affects all rows alike.
    """
    soco = BoxFilter(**SOCO_FILTER)
    runs = {name: dict(boxes={}, units={}, seconds=0.0) for name, _, _ in rows}
    for _, propose, _ in rows:
        propose(images[0][1], images[0][0])  # warm-up, untimed (first-call set-up)
    for i, (key, img, _) in enumerate(images):
        for name, propose, unit in rows:
            start = time.process_time()
            found = soco(propose(img, key), img.shape[:2])
            if not len(found):  # the documented empty fallback
                found = whole_image_box(img.shape[:2])
            runs[name]['seconds'] += time.process_time() - start
            runs[name]['boxes'][key] = found
            runs[name]['units'][key] = unit(img.shape[:2])
        print(f'\r  {i + 1}/{len(images)} images', end='', file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return runs


def measure(run: dict, images: List[tuple], reference: Dict[str, np.ndarray],
            with_cache: bool) -> dict:
    """Speed, coverage of the reference boxes, recall and bytes of one row."""
    hits = dict(c5=0, c7=0, r5=0, r7=0)
    num_ref = num_gt = 0
    lowest = 1.0
    for key, img, gt in images:
        found = run['boxes'][key]
        ref = np.unique(reference[key], axis=0)
        best = box_iou(ref, found).max(1)
        hits['c5'] += int((best >= 0.5).sum())
        hits['c7'] += int((best >= 0.7).sum())
        lowest = min(lowest, float((best >= 0.5).mean()))
        num_ref += len(ref)
        if len(gt):
            best = box_iou(gt, found).max(1)
            hits['r5'] += int((best >= 0.5).sum())
            hits['r7'] += int((best >= 0.7).sum())
            num_gt += len(gt)
    n = len(images)
    out = dict(images=n, ms=1000 * run['seconds'] / n,
               boxes=sum(len(b) for b in run['boxes'].values()) / n,
               c5=hits['c5'] / num_ref, c7=hits['c7'] / num_ref, lowest=lowest,
               r5=hits['r5'] / max(num_gt, 1), r7=hits['r7'] / max(num_gt, 1))
    if with_cache:
        with tempfile.TemporaryDirectory() as tmp:
            cache = write_proposal_cache(
                tmp, run['boxes'], units=run['units'],
                sizes={k: img.shape[:2] for k, img, _ in images})
            out['cache'] = cache.nbytes() / n
            out['exact'] = all(np.array_equal(cache[k], run['boxes'][k])
                               for k in run['boxes'])
        out['json'] = soco_json_bytes(run['boxes']) / n
    return out


def print_table(results: Dict[str, dict], demo: bool) -> None:
    base = results.get(PYPI)
    head = ('| source | CPU ms / image | speed-up vs PyPI | boxes / image | '
            'covers ref. @0.5 | covers ref. @0.7 | lowest image @0.5 |')
    if demo:
        head += (' GT recall@0.5 | GT recall@0.7 | cache B / image | '
                 'SoCo JSON B / image | cache / JSON | exact round trip |')
    print(head)
    print('|---' * (head.count('|') - 1) + '|')
    for name, r in results.items():
        speed = f'{base["ms"] / r["ms"]:.0f}x' if base else 'n/a'
        line = (f'| {name} | {r["ms"]:.1f} | {speed} | {r["boxes"]:.1f} | '
                f'{r["c5"]:.3f} | {r["c7"]:.3f} | {r["lowest"]:.2f} |')
        if demo:
            line += (f' {r["r5"]:.3f} | {r["r7"]:.3f} | {r["cache"]:.0f} | '
                     f'{r["json"]:.0f} | {r["cache"] / r["json"]:.3f} | '
                     f'{"yes" if r["exact"] else "no (rounded to pixels)"} |')
        print(line)
    print()


def adjusted_rand_index(labels_a: np.ndarray, labels_b: np.ndarray) -> float:
    """Adjusted Rand index of two label maps of the same pixels (1: the same
    partition, ids aside; about 0: no more agreement than chance)."""
    _, a = np.unique(labels_a.ravel(), return_inverse=True)
    _, b = np.unique(labels_b.ravel(), return_inverse=True)
    table = np.zeros((a.max() + 1, b.max() + 1), np.int64)
    np.add.at(table, (a, b), 1)
    pairs = lambda x: (x * (x - 1) / 2.).sum()  # noqa: E731
    index = pairs(table.astype(np.float64))
    rows, cols = pairs(table.sum(1).astype(np.float64)), pairs(
        table.sum(0).astype(np.float64))
    expected = rows * cols / pairs(np.float64(a.size))
    top = (rows + cols) / 2
    return 1.0 if top == expected else float((index - expected) / (top - expected))


def mean_best_overlap(reference: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the segments of ``reference`` of their best IoU with a segment
    of ``labels``."""
    _, r = np.unique(reference.ravel(), return_inverse=True)
    _, c = np.unique(labels.ravel(), return_inverse=True)
    inter = np.zeros((r.max() + 1, c.max() + 1), np.int64)
    np.add.at(inter, (r, c), 1)
    union = inter.sum(1)[:, None] + inter.sum(0)[None, :] - inter
    return float((inter / union).max(1).mean())


def compare_segmentations(title: str, images: List[tuple]) -> dict:
    """OpenCV's FH (objcon's ``detcon`` preset) against scikit-image's on the
    same images; prints and returns one table row."""
    from skimage.segmentation import felzenszwalb
    opencv = PROPOSAL_SOURCES.build(PRESETS['detcon'])
    seconds = dict(opencv=0., skimage=0.)
    counts = dict(opencv=0, skimage=0)
    ari, mbo = [], []
    for _, img, _ in images:
        start = time.process_time()
        ours = opencv.segment(img)
        seconds['opencv'] += time.process_time() - start
        start = time.process_time()
        theirs = felzenszwalb(img[:, :, ::-1], scale=opencv.scale,
                              sigma=opencv.sigma, min_size=opencv.min_size)
        seconds['skimage'] += time.process_time() - start
        counts['opencv'] += len(np.unique(ours))
        counts['skimage'] += len(np.unique(theirs))
        ari.append(adjusted_rand_index(ours, theirs))
        mbo.append(mean_best_overlap(theirs, ours))
    n = len(images)
    row = dict(images=n, seg_opencv=counts['opencv'] / n,
               seg_skimage=counts['skimage'] / n, ari=float(np.mean(ari)),
               ari_min=float(np.min(ari)), mbo=float(np.mean(mbo)),
               ms_opencv=1000 * seconds['opencv'] / n,
               ms_skimage=1000 * seconds['skimage'] / n)
    print(f'| {title} | {n} | {row["seg_opencv"]:.1f} | {row["seg_skimage"]:.1f} | '
          f'{row["ari"]:.3f} | {row["ari_min"]:.3f} | {row["mbo"]:.3f} | '
          f'{row["ms_opencv"]:.1f} | {row["ms_skimage"]:.1f} |')
    return row


SEGMENT_HEAD = ('| images (FH k 1000, min 1000, sigma 0.8, full res) | n | '
                'segments / image OpenCV | segments / image scikit-image | '
                'adjusted Rand index | lowest image ARI | mean best overlap '
                '(scikit-image segments) | OpenCV ms | scikit-image ms |')


def benchmark(title: str, images: List[tuple], rows: List[tuple],
              demo: bool) -> None:
    print(f'{title}: {len(images)} images')
    runs = run_sources(rows, images)
    reference = runs[REFERENCE]['boxes']
    num_ref = sum(len(np.unique(b, axis=0)) for b in reference.values())
    print(f'{num_ref} distinct reference boxes after SoCo\'s filter\n')
    print_table({name: measure(runs[name], images, reference, demo)
                 for name, _, _ in rows}, demo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', help='demo scenes root to reuse (default: '
                        'generate the val split into a temporary folder)')
    parser.add_argument('--num-images', type=int, default=50,
                        help='demo scenes (0: photographs only)')
    parser.add_argument('--size', type=int, default=256, help='demo image side')
    parser.add_argument('--no-photos', action='store_true',
                        help='skip the natural photographs')
    parser.add_argument('--extra', default='{}', help='more rows as a JSON object '
                        '{"row name": source config, ...}')
    args = parser.parse_args()
    cv2.setNumThreads(1)  # per-image, single-thread timings for every row

    rows = []
    pypi = pypi_selective_search()
    if pypi is None:
        print('`selectivesearch` is not installed: its row is skipped '
              '(pip install -r requirements/bench.txt)\n')
    else:
        rows.append((PYPI, pypi, lambda hw: (1.0, 1.0)))
    try:
        extra = json.loads(args.extra)
        assert isinstance(extra, dict)
    except (json.JSONDecodeError, AssertionError):
        parser.error(f'--extra must be a JSON object {{"row name": config}}, got '
                     f'{args.extra!r}')
    for name, cfg in SOURCES + list(extra.items()):
        source = PROPOSAL_SOURCES.build(cfg)
        rows.append((name, source.propose, source.box_unit))
    print('SoCo filter on every row; CPU time of one thread\n')

    photos = demo = None
    if not args.no_photos:
        photos = photographs()
        benchmark('scikit-image photographs (whole + 2 crops of 3/4 each)',
                  photos, rows, demo=False)
    if args.num_images:
        with tempfile.TemporaryDirectory() as tmp:
            root = args.data_root
            if root is None:
                root = tmp
                generate_demo_scenes(root, dict(val=args.num_images), seed=0,
                                     image_size=(args.size, args.size),
                                     show_progress=False)
            demo = demo_scenes(root, 'val', args.num_images)
        num_gt = sum(len(g) for _, _, g in demo)
        benchmark(f'demo val scenes, {args.size}x{args.size}, {num_gt} ground-truth '
                  'boxes', demo, rows, demo=True)

    print("DetCon's masks: OpenCV FH (objcon) vs scikit-image FH (the reference)\n")
    print(SEGMENT_HEAD)
    print('|---' * (SEGMENT_HEAD.count('|') - 1) + '|')
    if photos is not None:
        compare_segmentations('scikit-image photographs', photos)
    if demo is not None:
        compare_segmentations(f'demo val scenes, {args.size}x{args.size}', demo)
    print()


if __name__ == '__main__':
    main()
