"""Convert an objcon pretraining checkpoint for MMDetection fine-tuning.

    python tools/convert_to_mmdet.py PRETRAIN.pth OUT.pth [--part backbone|neck|head]
        [--config DETECTOR_CONFIG]

Writes the online (not EMA) weights under mmdet's names, then builds the detector of
``--config`` and loads them: it fails unless every transferred key is covered (no
missing, no unexpected key, equal tensors). Fine-tune with
``python tools/train.py DETECTOR_CONFIG --cfg-options load_from=OUT.pth``.
"""
import argparse
import os.path as osp
import sys

import torch

from objcon.transfer import (TRANSFER_PARTS, CheckpointConversionError,
                             convert_pretrain_checkpoint, verify_against_detector)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIGS = {
    # stock mmdet configs: FPN without norm (BN folded), Shared2FC box head
    ('fpn', 'backbone'): 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    ('fpn', 'neck'): 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    ('fpn', 'head'): osp.join(
        REPO, 'configs/benchmarks/mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco.py'),
    ('c4', 'backbone'): osp.join(
        REPO, 'configs/benchmarks/mask-rcnn_r50_c4_syncbn_1x_coco.py'),
    ('c4', 'head'): osp.join(
        REPO, 'configs/benchmarks/mask-rcnn_r50_c4_syncbn_1x_coco.py'),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='objcon pretraining checkpoint')
    parser.add_argument('out', help='converted checkpoint to write')
    parser.add_argument('--part', choices=TRANSFER_PARTS, default='neck',
                        help='what to transfer (cumulative; default: neck = '
                        'backbone + FPN)')
    parser.add_argument('--config', help='detector config to check against '
                        '(default: mmdet\'s R50 Mask R-CNN of the architecture)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        state, summary = convert_pretrain_checkpoint(args.checkpoint, args.part)
        arch = 'c4' if summary['c4'] else 'fpn'
        config = args.config or DEFAULT_CONFIGS[(arch, args.part)]
        report = verify_against_detector(state, config)
    except CheckpointConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    torch.save(dict(state_dict=state,
                    meta=dict(objcon_source=args.checkpoint,
                              algorithm=summary['algorithm'], part=args.part)),
               args.out)
    parts = ', '.join(f'{k} {v} tensors' for k, v in summary['tensors'].items())
    print(f'wrote {args.out}: {summary["algorithm"]} online weights, {parts}')
    if report['folded']:
        print(f'  BN folded into conv for {len(report["folded"])} layers the '
              f'detector has no norm for ({report["folded"][0]}, ...)')
    print(f'  checked against {config}: {report["detector_keys"]} detector keys '
          f'under {report["checked_prefixes"]}: 0 missing, 0 unexpected')
    return 0


if __name__ == '__main__':
    sys.exit(main())
