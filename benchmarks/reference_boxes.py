"""How much SoCo's integer box coordinates would change objcon's float boxes.

SoCo's reference stores a view's boxes as inclusive integer pixels (x2 = x + w - 1,
w and h truncated) and assigns levels from those integers; objcon keeps float
``xyxy`` boxes (docs/boxes.md). This script runs the SoCo-FPN 400-epoch view recipe
(geometry only: crops, flips, box selection and jitter) on demo scenes with the
default selective-search proposals and prints, per view size, the fraction of box
slots whose level differs between the two rules and the mean relative change of the
box area RoIAlign pools.

    python benchmarks/reference_boxes.py [--data data/demo_scenes] [--images 100]
"""
import argparse
import glob
import os.path as osp
import sys

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default=osp.join(REPO, 'data/demo_scenes'),
                        help='demo scenes root (made with tools/make_demo_data.py '
                        'if absent)')
    parser.add_argument('--images', type=int, default=100)
    parser.add_argument('--draws', type=int, default=5,
                        help='view draws per image')
    return parser.parse_args(argv)


def reference_levels(boxes: torch.Tensor, thresholds) -> torch.Tensor:
    """Levels from the reference's truncated integer width and height."""
    from objcon.models.utils import assign_scale_levels
    wh = (boxes[..., 2:] - boxes[..., :2]).floor()
    ints = torch.cat([boxes[..., :2].floor(), boxes[..., :2].floor() + wh], -1)
    return assign_scale_levels(ints, thresholds)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from objcon.datasets import generate_demo_scenes
    from objcon.models.utils import SOCO_LEVEL_THRESHOLDS, assign_scale_levels
    from objcon.proposals import PRESETS, read_image
    from objcon.registry import PROPOSAL_SOURCES, TRANSFORMS
    from objcon.utils import load_config, register_all_modules

    register_all_modules(init_default_scope=True)
    if not osp.isdir(osp.join(args.data, 'train')):
        generate_demo_scenes(args.data, dict(train=args.images, val=1), seed=0,
                             show_progress=False)
    paths = sorted(glob.glob(osp.join(args.data, 'train', '*.jpg')))[:args.images]
    cfg = load_config(osp.join(REPO, 'configs/_base_/datasets/soco_views_400e.py'))
    views_cfg = dict(cfg.object_views)
    views_cfg['views'] = [dict(v, pipeline=[]) for v in views_cfg['views']]
    views = TRANSFORMS.build(views_cfg)
    source = PROPOSAL_SOURCES.build(PRESETS['soco'])
    np.random.seed(0)
    stats = {}  # view size -> [slots, level changes, sum of relative area change]
    for path in paths:
        img, _ = read_image(path)
        props = source(img)
        for _ in range(args.draws):
            res = views(dict(img=img, proposals=props.copy()))
            vp = res['view_pairs']
            for i, (a, b) in enumerate(vp.views):
                for v, boxes in ((a, vp.boxes_a[i]), (b, vp.boxes_b[i])):
                    size = res['img_shape'][v][0]
                    float_lv = assign_scale_levels(boxes, SOCO_LEVEL_THRESHOLDS)
                    int_lv = reference_levels(boxes, SOCO_LEVEL_THRESHOLDS)
                    wh = boxes[:, 2:] - boxes[:, :2]
                    ref_wh = (wh.floor() - 1).clamp(min=0)  # x2 = x + w - 1
                    area = (wh[:, 0] * wh[:, 1]).clamp(min=1e-6)
                    rel = 1 - ref_wh[:, 0] * ref_wh[:, 1] / area
                    s = stats.setdefault(size, [0, 0, 0.])
                    s[0] += len(boxes)
                    s[1] += int((float_lv != int_lv).sum())
                    s[2] += float(rel.sum())
    print(f'\n{len(paths)} demo scenes x {args.draws} draws, SoCo-FPN 400e views, '
          'default selective search\n')
    print('| view size | box slots | level differs | mean area lost by '
          'x2 = x + w - 1 and truncation |')
    print('|---|---|---|---|')
    for size, (n, changed, rel) in sorted(stats.items(), reverse=True):
        print(f'| {size} | {n} | {changed / n:.2%} | {rel / n:.2%} |')
    return stats


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
