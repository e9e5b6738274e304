"""Recall of ground-truth boxes by heat-map proposals, against chance at equal budget.

    python benchmarks/heatmap_recall.py \\
        [--config configs/objcon/soco-heatmap_r18_fpn_demo.py] \\
        [--checkpoint work_dirs/hm/epoch_2.pth] [--data data/demo_scenes] \\
        [--split val] [--seeds 3] [--out recall.json] \\
        [--cfg-options view_size=64 model.proposal_generator.threshold=0.5 ...]

Per image of the split: the model's heat-map boxes on V1 (the whole image at V1's
size, as in training after the warm-up; ``num_centres`` x scales x aspects boxes,
4 x 3 = 12 with the demo config), mapped back onto the image. A ground-truth box
(COCO json; annotations are read here for evaluation only) is recalled at t if
some proposal has IoU >= t with it (objcon's ``box_iou``).

Rows:

* heat map, checkpoint: the ``--checkpoint``'s network (omitted without one);
* heat map, random init: the same config, no weights;
* uniform random boxes (``RandomBoxes``): every box at the matched scale, random
  aspect ratio (1/3 to 3) and position;
* grid boxes (``GridBoxes`` with ``scale``): a regular ``rows x cols`` grid of
  boxes of the matched scale and the image's aspect ratio.

The two baselines have the heat map's number of boxes per image and its mean box
scale ``sqrt(w h) / sqrt(W H)``: the checkpoint's (without ``--checkpoint``, the
random init's), so the table says whether the network's heat map localises objects
better than chance at the same budget. Heat-map and random rows are means over
``--seeds`` sampling seeds (the heat map itself is computed once per image); the
grid is deterministic. ``--cfg-options`` applies to both heat-map rows.
"""
import argparse
import json
import logging
import os
import os.path as osp
import sys
import time
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import DictAction

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from objcon.errors import InputError  # noqa: E402


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def _iou_threshold(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f'must be in (0, 1], got {value}')
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config',
                        default='configs/objcon/soco-heatmap_r18_fpn_demo.py')
    parser.add_argument('--checkpoint', help='trained weights (omit: random init only)')
    parser.add_argument('--data', default='data/demo_scenes',
                        help='dataset root with annotations/instances_SPLIT.json')
    parser.add_argument('--split', default='val')
    parser.add_argument('--seeds', type=_positive_int, default=3)
    parser.add_argument('--max-images', type=_positive_int,
                        help='first N images only')
    parser.add_argument('--iou', type=_iou_threshold, nargs='+', default=[0.5, 0.7])
    parser.add_argument('--batch-size', type=_positive_int, default=16,
                        help='images per forward pass of the heat map')
    parser.add_argument('--out', help='also write the table and its setting as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, e.g. view_size=64 '
                        'model.proposal_generator.max_size=0.6')
    return parser.parse_args(argv)


def load_gt(data: str, split: str, max_images: Optional[int] = None
            ) -> List[Tuple[str, np.ndarray]]:
    """[(image path, (M, 4) float32 xyxy gt boxes)] of a COCO json split.

    Raises:
        InputError: No annotation file for the split, an unreadable one, no
            image in it, or an image file missing.
    """
    ann_dir = osp.join(data, 'annotations')
    ann_file = osp.join(ann_dir, f'instances_{split}.json')
    if not osp.isfile(ann_file):
        found = sorted(f[len('instances_'):-len('.json')]
                       for f in (os.listdir(ann_dir) if osp.isdir(ann_dir) else [])
                       if f.startswith('instances_') and f.endswith('.json'))
        raise InputError(
            f'no {ann_file}: --data must be a dataset root with '
            'annotations/instances_SPLIT.json (tools/make_demo_data.py makes '
            f'one); splits found there: {", ".join(found) or "none"}')
    try:
        with open(ann_file) as f:
            coco = json.load(f)
        boxes = {img['id']: [] for img in coco['images']}
        for ann in coco['annotations']:
            if not ann.get('iscrowd', 0):
                x, y, w, h = ann['bbox']
                boxes[ann['image_id']].append([x, y, x + w, y + h])
        items = [(osp.join(data, split, img['file_name']),
                  np.asarray(boxes[img['id']], np.float32).reshape(-1, 4))
                 for img in coco['images']]
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f'{ann_file} is not a COCO instances file: '
                         f'{type(e).__name__}: {e}') from e
    items = items[:max_images]
    if not items:
        raise InputError(f'{ann_file} lists no image')
    missing = [p for p, _ in items if not osp.isfile(p)]
    if missing:
        raise InputError(f'{len(missing)} of the {len(items)} images of {ann_file} '
                         f'are missing, e.g. {missing[0]}')
    return items


def recall(per_image: Sequence[np.ndarray], gts: Sequence[np.ndarray],
           thrs: Sequence[float]) -> np.ndarray:
    """Fraction of gt boxes matched at each IoU threshold."""
    from objcon.structures import box_iou
    hits, total = np.zeros(len(thrs)), 0
    for boxes, gt in zip(per_image, gts):
        total += len(gt)
        if len(gt) == 0 or len(boxes) == 0:
            continue
        best = box_iou(gt, boxes).max(1)
        hits += [(best >= t).sum() for t in thrs]
    return hits / max(total, 1)


def mean_scale(per_image: Sequence[np.ndarray], shapes: Sequence[tuple]) -> float:
    """Mean ``sqrt(w h) / sqrt(W H)`` of boxes on images of (H, W, ...) shapes."""
    scales = [np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) / (s[0] * s[1]))
              for b, s in zip(per_image, shapes) if len(b)]
    return float(np.concatenate(scales).mean()) if scales else float('nan')


def grid_shape(num: int) -> Tuple[int, int]:
    """``(rows, cols)`` with ``rows * cols == num``, as square as possible."""
    rows = max(r for r in range(1, int(np.sqrt(num)) + 1) if num % r == 0)
    return rows, num // rows


def evaluate(key: str, name: str, propose: Callable[[int], List[np.ndarray]],
             seeds: Sequence[int], gts, shapes, thrs) -> dict:
    """One row of the table: ``propose(seed)`` gives every image's boxes."""
    per_seed, scales, counts = [], [], set()
    for seed in seeds:
        boxes = propose(seed)
        per_seed.append(recall(boxes, gts, thrs))
        scales.append(mean_scale(boxes, shapes))
        counts.update(len(b) for b in boxes)
    mean = np.mean(per_seed, 0)
    return dict(
        key=key, name=name,
        boxes_per_image=counts.pop() if len(counts) == 1 else sorted(counts),
        mean_scale=float(np.mean(scales)),
        recall={f'{t:g}': float(r) for t, r in zip(thrs, mean)},
        recall_per_seed=[{f'{t:g}': float(r) for t, r in zip(thrs, rec)}
                         for rec in per_seed],
        seeds=list(seeds))


def heatmap_row(key: str, name: str, config: str, checkpoint: Optional[str],
                cfg_options: Optional[dict], images, args, gts, shapes) -> dict:
    """Heat maps computed once per image, boxes sampled once per seed."""
    import torch

    from objcon.apis import heatmap_boxes, init_pretrainer, view_heat_maps
    torch.manual_seed(0)  # the random init
    try:
        model, cfg = init_pretrainer(config, checkpoint, cfg_options)
    except InputError:
        raise
    except RuntimeError as e:  # load_checkpoint(strict=True): keys do not match
        if checkpoint is None:
            raise
        raise InputError(f'--checkpoint {checkpoint} does not fit --config '
                         f'{config}: {str(e).strip().splitlines()[0]}') from e
    generator = model.proposal_generator
    if not hasattr(generator, 'heat_map'):
        raise InputError(f'--config {config}: the model has no heat-map '
                         'proposal_generator (HeatMapProposals), e.g. '
                         'configs/objcon/soco-heatmap_r18_fpn_demo.py')
    start = time.time()
    heat = view_heat_maps(model, cfg, images, batch_size=args.batch_size)
    print(f'{name}: heat maps of {len(images)} images in '
          f'{time.time() - start:.1f} s', file=sys.stderr)

    def propose(seed):
        generator.generator = torch.Generator().manual_seed(seed)
        return heatmap_boxes(model, heat, shapes)

    return evaluate(key, name, propose, range(args.seeds), gts, shapes, args.iou)


def run(args) -> dict:
    """The recall table and its setting (what ``--out`` writes)."""
    from mmengine.logging import MMLogger

    from objcon.proposals import GridBoxes, RandomBoxes, read_image
    config = args.config if osp.isabs(args.config) else osp.join(REPO, args.config)
    if not osp.isfile(config):
        raise InputError(f'--config {args.config}: no such file')
    if args.checkpoint and not osp.isfile(args.checkpoint):
        raise InputError(f'--checkpoint {args.checkpoint}: no such file')
    items = load_gt(args.data, args.split, args.max_images)
    os.environ.setdefault('OBJCON_DEMO_ROOT', osp.abspath(args.data))
    images = []
    for path, _ in items:
        img, reason = read_image(path)
        if img is None:
            raise InputError(f'{path}: {reason}')
        images.append(img)
    gts = [g for _, g in items]
    shapes = [img.shape for img in images]

    models = [('heatmap_random_init', 'heat map, random init', None)]
    if args.checkpoint:
        models.insert(0, ('heatmap_checkpoint',
                          f'heat map, {osp.basename(args.checkpoint)}',
                          args.checkpoint))
    # init_weights logs every parameter at INFO: keep the table readable.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        rows = [heatmap_row(key, name, config, ckpt, args.cfg_options, images,
                            args, gts, shapes) for key, name, ckpt in models]
    finally:
        logger.setLevel(level)
    matched = rows[0]
    per_image, scale = matched['boxes_per_image'], matched['mean_scale']
    if not isinstance(per_image, int):  # the generator makes a fixed count
        raise RuntimeError(f'{matched["name"]}: boxes per image vary: {per_image}')
    keys = [osp.relpath(p, osp.join(args.data, args.split)) for p, _ in items]

    def random_boxes(seed):
        source = RandomBoxes(num=per_image, scale_range=(scale, scale), seed=seed)
        return [source(img, key) for img, key in zip(images, keys)]

    rows.append(evaluate('random_boxes', 'uniform random boxes, matched',
                         random_boxes, range(args.seeds), gts, shapes, args.iou))
    grid_rows, grid_cols = grid_shape(per_image)
    grid = GridBoxes(rows=grid_rows, cols=grid_cols, scale=min(scale, 1.))
    rows.append(evaluate('grid_boxes', f'grid boxes {grid_rows}x{grid_cols}, matched',
                         lambda _: [grid(img) for img in images], [0], gts, shapes,
                         args.iou))
    rows[-1]['seeds'] = []  # deterministic: no seed
    return dict(
        data=osp.abspath(args.data), split=args.split, num_images=len(images),
        num_gt=int(sum(map(len, gts))), gt_mean_scale=mean_scale(gts, shapes),
        config=args.config, checkpoint=args.checkpoint,
        cfg_options=dict(args.cfg_options or {}), iou=list(args.iou),
        seeds=list(range(args.seeds)), init_seed=0,
        boxes_per_image=per_image, matched_scale=scale,
        matched_to=matched['key'], rows=rows)


def markdown(report: dict) -> str:
    """The report as a markdown table with a one-line setting above it."""
    thrs = [f'{t:g}' for t in report['iou']]
    lines = [
        f"{report['split']}: {report['num_images']} images, {report['num_gt']} gt "
        f"boxes (mean scale {report['gt_mean_scale']:.3f}), "
        f"{report['boxes_per_image']} boxes per image, mean of "
        f"{len(report['seeds'])} seeds; baselines matched to the mean scale "
        f"{report['matched_scale']:.3f} of '{report['rows'][0]['name']}'", '',
        '| proposals | ' + ' | '.join(f'recall@{t}' for t in thrs) +
        ' | mean scale sqrt(wh)/sqrt(WH) | boxes per image |',
        '|---|' + '---|' * (len(thrs) + 2)]
    for row in report['rows']:
        lines.append(f"| {row['name']} | " +
                     ' | '.join(f"{row['recall'][t]:.3f}" for t in thrs) +
                     f" | {row['mean_scale']:.3f} | {row['boxes_per_image']} |")
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except InputError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print('\n' + markdown(report))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
