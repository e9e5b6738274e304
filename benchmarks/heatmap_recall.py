"""Recall of ground-truth boxes by heat-map proposals: a checkpoint vs random init.

    python benchmarks/heatmap_recall.py \\
        [--config configs/objcon/soco-heatmap_r18_fpn_demo.py] \\
        [--checkpoint work_dirs/hm/epoch_2.pth] [--data data/demo_scenes] \\
        [--split val] [--seeds 3] \\
        [--cfg-options model.proposal_generator.threshold=0.5 ...]

Per val image: the model's heat-map boxes on V1 (the whole image at V1's size, as in
training after the warm-up; ``num_centres`` x scales x aspects boxes, 4 x 3 = 12
with the demo config), mapped back onto the image. A ground-truth box (COCO json;
annotations are read here for evaluation only) is recalled at t if some proposal
has IoU >= t with it (objcon's ``box_iou``). Rows: the checkpoint's network, a
random-init network (same config, no weights), and -- as a floor -- the same number
of uniformly random boxes (``RandomBoxes``). Mean over ``--seeds`` sampling seeds.
Each row also gives the proposals' mean scale ``sqrt(w h) / sqrt(W H)`` (the measure
of SoCo's selective-search size band, 0.3-0.8), and the ground truth's for reference;
``--cfg-options`` changes the source's parameters (both heat-map rows).
"""
import argparse
import json
import os
import os.path as osp
import sys

import numpy as np
from mmengine.config import DictAction

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config',
                        default='configs/objcon/soco-heatmap_r18_fpn_demo.py')
    parser.add_argument('--checkpoint', help='trained weights (omit: random init only)')
    parser.add_argument('--data', default='data/demo_scenes')
    parser.add_argument('--split', default='val')
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--max-images', type=int, help='first N images only')
    parser.add_argument('--iou', type=float, nargs='+', default=[0.5, 0.7])
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, e.g. '
                        'model.proposal_generator.max_size=0.6')
    return parser.parse_args(argv)


def load_gt(data, split, max_images=None):
    """[(image path, (M, 4) float32 xyxy gt boxes)] of a COCO json split."""
    with open(osp.join(data, 'annotations', f'instances_{split}.json')) as f:
        coco = json.load(f)
    boxes = {img['id']: [] for img in coco['images']}
    for ann in coco['annotations']:
        if not ann.get('iscrowd', 0):
            x, y, w, h = ann['bbox']
            boxes[ann['image_id']].append([x, y, x + w, y + h])
    out = [(osp.join(data, split, img['file_name']),
            np.asarray(boxes[img['id']], np.float32).reshape(-1, 4))
           for img in coco['images']]
    return out[:max_images]


def recall(per_image, gts, thrs):
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


def mean_scale(per_image, shapes):
    """Mean ``sqrt(w h) / sqrt(W H)`` of boxes on images of (H, W, ...) shapes."""
    scales = [np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) / (s[0] * s[1]))
              for b, s in zip(per_image, shapes) if len(b)]
    return float(np.concatenate(scales).mean()) if scales else float('nan')


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault('OBJCON_DEMO_ROOT', osp.abspath(args.data))
    import torch

    from objcon.apis import inference_heatmap, init_pretrainer
    from objcon.proposals import RandomBoxes, read_image
    items = load_gt(args.data, args.split, args.max_images)
    images = [read_image(p)[0] for p, _ in items]
    gts = [g for _, g in items]
    shapes = [img.shape for img in images]
    rows = []
    models = [('random init', None)]
    if args.checkpoint:
        models.insert(0, (osp.basename(args.checkpoint), args.checkpoint))
    per_box = None
    for name, ckpt in models:
        torch.manual_seed(0)
        model, cfg = init_pretrainer(osp.join(REPO, args.config)
                                     if not osp.isabs(args.config)
                                     else args.config, ckpt, args.cfg_options)
        res, scale = [], []
        for seed in range(args.seeds):
            model.proposal_generator.generator = torch.Generator().manual_seed(seed)
            props = [inference_heatmap(model, cfg, img)[1] for img in images]
            res.append(recall(props, gts, args.iou))
            scale.append(mean_scale(props, shapes))
        per_box = model.proposal_generator.boxes_per_image
        rows.append((f'heat map, {name}', np.mean(res, 0), np.mean(scale)))
    res, scale = [], []
    for seed in range(args.seeds):
        rnd = RandomBoxes(num=per_box, seed=seed)
        props = [rnd(img, p) for img, (p, _) in zip(images, items)]
        res.append(recall(props, gts, args.iou))
        scale.append(mean_scale(props, shapes))
    rows.append(('uniform random boxes', np.mean(res, 0), np.mean(scale)))

    print(f'\n{args.split}: {len(images)} images, {sum(map(len, gts))} gt boxes '
          f'(mean scale {mean_scale(gts, shapes):.3f}), {per_box} proposals per '
          f'image, mean of {args.seeds} seeds\n')
    print('| proposals | ' + ' | '.join(f'recall@{t}' for t in args.iou) +
          ' | mean scale sqrt(wh)/sqrt(WH) |')
    print('|---|' + '---|' * (len(args.iou) + 1))
    for name, r, sc in rows:
        print(f'| {name} | ' + ' | '.join(f'{v:.3f}' for v in r) + f' | {sc:.3f} |')
    return rows


if __name__ == '__main__':
    main()
