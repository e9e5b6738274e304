"""Draw an image's proposals (and masks) to a PNG, from a cache or a source.

Examples::

    # boxes from a cache (the image's key is its path relative to the cache's root)
    python tools/visualize_proposals.py data/demo_scenes/val/000000.jpg out.png \\
        --cache data/proposals/demo_val_soco

    # an online source; mask sources (detcon) also draw their segments
    python tools/visualize_proposals.py data/demo_scenes/val/000000.jpg out.png \\
        --source detcon

    # heat-map proposals of a model (no --checkpoint: random initialisation):
    # the heat map (target C5 on V1) as an overlay, and the sampled boxes
    python tools/visualize_proposals.py data/demo_scenes/val/000000.jpg out.png \\
        --heatmap configs/objcon/soco-heatmap_r18_fpn_demo.py --checkpoint epoch_8.pth
"""
import argparse
import os
import os.path as osp
import sys

import cv2

from objcon.proposals import (PRESETS, ProposalCache, draw_proposals, parse_source,
                              read_image)
from objcon.registry import PROPOSAL_SOURCES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('image', help='image file')
    parser.add_argument('out', help='PNG to write')
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument('--cache', help='proposal cache directory')
    what.add_argument('--heatmap', metavar='CONFIG', help='a config with a heat-map '
                      'proposal source: draw the model\'s heat map and boxes')
    what.add_argument('--source', help=f'preset ({", ".join(sorted(PRESETS))}) or '
                      'a JSON source config, run on the image')
    parser.add_argument('--img-root', help='root the cache keys are relative to '
                        '(default: the one recorded in the cache)')
    parser.add_argument('--checkpoint', help='with --heatmap: weights to load '
                        '(default: random initialisation)')
    parser.add_argument('--seed', type=int, default=0,
                        help='with --heatmap: seed of the box sampling')
    parser.add_argument('--max-boxes', type=int, help='draw only the first N boxes')
    return parser.parse_args(argv)


def draw_heatmap(args, img) -> int:
    """Overlay the model's heat map on the image and draw its boxes."""
    import numpy as np
    import torch

    from objcon.apis import inference_heatmap, init_pretrainer
    torch.manual_seed(args.seed)
    model, cfg = init_pretrainer(args.heatmap, args.checkpoint)
    model.proposal_generator.generator = torch.Generator().manual_seed(args.seed)
    heat, boxes = inference_heatmap(model, cfg, img)
    colour = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
    overlay = cv2.addWeighted(img, 0.5, colour, 0.5, 0)
    cv2.imwrite(args.out, draw_proposals(overlay, boxes, None, args.max_boxes))
    print(f'{args.out}: {len(boxes)} boxes (heat map, '
          f'{args.checkpoint or "random init"})')
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    img, reason = read_image(args.image)
    if img is None:
        print(f'error: {args.image}: {reason}', file=sys.stderr)
        return 2
    masks = None
    if args.heatmap:
        return draw_heatmap(args, img)
    if args.cache:
        cache = ProposalCache(args.cache)
        root = args.img_root or cache.meta.get('img_root') or ''
        key = osp.relpath(args.image, root).replace(os.sep, '/')
        try:
            boxes = cache[key]
        except KeyError as e:
            print(f'error: {e.args[0]}', file=sys.stderr)
            return 2
        status = cache.get_status(key).name
    else:
        source = PROPOSAL_SOURCES.build(parse_source(args.source))
        if source.has_masks:
            found, masks = source.segment_and_propose(img)
        else:
            found = source.get_proposals(img)
        boxes, status = found.boxes, found.status.name
    cv2.imwrite(args.out, draw_proposals(img, boxes, masks, args.max_boxes))
    print(f'{args.out}: {len(boxes)} boxes ({status})'
          + (f', {masks.max() + 1} segments' if masks is not None else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
