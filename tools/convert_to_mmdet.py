"""Convert an objcon pretraining checkpoint for MMDetection fine-tuning.

    python tools/convert_to_mmdet.py PRETRAIN.pth OUT.pth [--part backbone|neck|head]
        [--detector fpn|c4] [--config DETECTOR_CONFIG] [--force]

Writes the online (not EMA) weights under mmdet's names, then builds the detector of
``--config`` (default: for DETReg and UP-DETR, mmdet's stock config of their detector;
otherwise mmdet's R50 Mask R-CNN) and loads them: it fails unless every transferred key
is covered (no missing, no unexpected key, equal tensors). For a C4 detector
(``--detector c4``, or a ``--config`` whose RoI head has a shared head) a
whole-ResNet backbone (e.g. PLRC's) converts with res5 as the RoI shared head.
DETReg and UP-DETR transfer their whole detector with ``--part head``, except the
class-specific layers, which the tool names: the fine-tuning detector initialises
them for its classes. Fine-tune with
``python tools/train.py DETECTOR_CONFIG --cfg-options load_from=OUT.pth``.

OUT may replace an earlier output of this tool; any other existing file (the input
itself, a training checkpoint, a file it cannot read) is refused unless --force.
OUT's folder is checked before the conversion starts, and OUT is written to a
temporary file beside it and renamed: it is never left half written.
Exit status: 0 written, 2 refused (bad input or output path), 1 write failed.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
from typing import Optional

import torch

from objcon.transfer import (TRANSFER_PARTS, CheckpointConversionError,
                             convert_pretrain_checkpoint, detector_kind,
                             verify_against_detector)

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
    # the docstring's last paragraph: what OUT may replace, exit status
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     epilog=__doc__.split('\n\n')[-1])
    parser.add_argument('checkpoint', help='objcon pretraining checkpoint')
    parser.add_argument('out', help='converted checkpoint to write')
    parser.add_argument('--part', choices=TRANSFER_PARTS, default='neck',
                        help='what to transfer (cumulative; default: neck = '
                        'backbone + FPN)')
    parser.add_argument('--detector', choices=('fpn', 'c4'),
                        help='the kind of detector the weights are for (default: '
                        'that of --config, else the model\'s own; c4 takes a '
                        'whole-ResNet backbone with res5 as the RoI shared head)')
    parser.add_argument('--config', help='detector config to check against '
                        '(default: mmdet\'s stock detector of a DETR-family '
                        'pretraining, else its R50 Mask R-CNN of the architecture)')
    parser.add_argument('--force', action='store_true',
                        help='write OUT even if it is the input or another file '
                        'this tool did not write (e.g. a training checkpoint)')
    return parser.parse_args(argv)


def _describe_existing(path: str) -> Optional[str]:
    """Why an existing file must not be replaced, or None for an earlier output
    of this tool."""
    import objcon  # noqa: F401  (safe globals for Runner checkpoints)
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - whatever it is, it is not ours
        return 'a file that is not a checkpoint this tool wrote'
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    if isinstance(ckpt, dict) and ('optimizer' in ckpt or 'cfg' in meta):
        return 'a training checkpoint (it has an optimizer state or a config)'
    if 'objcon_source' in meta:
        return None
    return 'a checkpoint this tool did not write'


def check_output(checkpoint: str, out: str, force: bool = False) -> Optional[str]:
    """Check OUT before any work: its folder exists and is writable, and it
    replaces no file it must not.

    Args:
        checkpoint (str): The input checkpoint.
        out (str): The output path.
        force (bool): Allow replacing the input or a file this tool did not
            write. Defaults to False.

    Returns:
        str | None: Why OUT is refused, or None if it may be written.
    """
    if osp.isdir(out):
        return f'{out} is a folder; give a file path for the converted checkpoint'
    folder = osp.dirname(osp.abspath(out))
    if not osp.isdir(folder):
        return f'the output folder {folder} does not exist'
    if not os.access(folder, os.W_OK | os.X_OK):
        return f'cannot write to the output folder {folder}'
    if force or not osp.lexists(out):
        return None
    if osp.exists(checkpoint) and osp.exists(out) \
            and osp.samefile(checkpoint, out):
        return (f'{out} is the input checkpoint: converting would replace the '
                'pretraining checkpoint (its EMA target and optimizer state). '
                'Give another output path (or --force)')
    reason = _describe_existing(out)
    if reason is not None:
        return f'{out} exists and is {reason}: not replaced (use --force to replace it)'
    return None


def save_atomically(obj, path: str) -> None:
    """``torch.save`` to a temporary file in ``path``'s folder, then rename it to
    ``path``: readers see the old file or the complete new one, never a part.

    Args:
        obj: What to save.
        path (str): The file to write.
    """
    folder, name = osp.split(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
        umask = os.umask(0)
        os.umask(umask)
        # mkstemp makes the file private; give it a new file's usual mode
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None) -> int:
    args = parse_args(argv)
    refused = check_output(args.checkpoint, args.out, args.force)
    if refused is not None:
        print(f'error: {refused}', file=sys.stderr)
        return 2
    try:
        kind = args.detector
        if kind is None and args.config:
            kind = detector_kind(args.config)
        state, summary = convert_pretrain_checkpoint(args.checkpoint, args.part,
                                                     kind)
        arch = 'c4' if summary['c4'] else 'fpn'
        config = args.config or summary['config'] or DEFAULT_CONFIGS[
            (arch, args.part)]
        report = verify_against_detector(state, config, summary['reinitialized'])
    except CheckpointConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    try:
        save_atomically(
            dict(state_dict=state,
                 meta=dict(objcon_source=args.checkpoint,
                           algorithm=summary['algorithm'], part=args.part)),
            args.out)
    except OSError as e:
        print(f'error: could not write {args.out}: {e}', file=sys.stderr)
        return 1
    parts = ', '.join(f'{k} {v} tensors' for k, v in summary['tensors'].items())
    print(f'wrote {args.out}: {summary["algorithm"]} online weights, {parts}')
    if report['folded']:
        print(f'  BN folded into conv for {len(report["folded"])} layers the '
              f'detector has no norm for ({report["folded"][0]}, ...)')
    print(f'  checked against {config}: {report["detector_keys"]} detector keys '
          f'under {report["checked_prefixes"]}: 0 missing, 0 unexpected')
    if report['reinitialized']:
        prefixes = [p for p in summary['reinitialized']
                    if any(k.startswith(p) for k in report['reinitialized'])]
        print(f'  class-specific layers re-initialised by the detector (not '
              f'transferred): {", ".join(prefixes)} '
              f'({len(report["reinitialized"])} tensors)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
