"""Precompute proposals of a dataset into a resumable, memory-mapped cache.

Examples::

    # SoCo's boxes for an image folder (ImageNet layout works), 8 processes
    python tools/precompute_proposals.py data/imagenet/train \\
        data/proposals/imagenet_train_soco --source soco --workers 8

    # a COCO split, an explicit source config
    python tools/precompute_proposals.py data/coco/train2017 data/proposals/coco_ccop \\
        --ann-file data/coco/annotations/instances_train2017.json \\
        --source '{"type": "SelectiveSearch", "mode": "quality", "max_side": 256}'

Rerun the same command after an interruption: it resumes. One process writes a
cache at a time: a second one refuses (or, with --wait, waits). A damaged cache
(e.g. a truncated file) is refused with the file named; --overwrite rebuilds it.
"""
import argparse
import sys

from objcon.proposals import (PRESETS, CacheBusyError, CacheDamagedError,
                              CacheMismatchError, parse_source,
                              precompute_proposals)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('img_root', help='image folder (searched recursively), or '
                        'the folder COCO file_names are relative to')
    parser.add_argument('out', help='cache directory to write (or resume)')
    parser.add_argument('--ann-file', help='COCO json listing the images')
    parser.add_argument('--source', default='soco',
                        help=f'preset ({", ".join(sorted(PRESETS))}) or a JSON '
                        'source config (default: soco)')
    parser.add_argument('--workers', type=int, default=1,
                        help='worker processes; 0 = in this process (default: 1)')
    parser.add_argument('--chunk-size', type=int, default=256,
                        help='images per atomically written chunk (default: 256)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace a cache made for another dataset or source, '
                        'or rebuild a damaged one')
    parser.add_argument('--wait', action='store_true',
                        help='if another process is writing the cache, wait for '
                        'it instead of refusing')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        precompute_proposals(
            parse_source(args.source), args.img_root, args.out,
            ann_file=args.ann_file, workers=args.workers,
            chunk_size=args.chunk_size, overwrite=args.overwrite,
            show_progress=not args.no_progress, wait=args.wait)
    except (CacheMismatchError, CacheDamagedError, CacheBusyError, ValueError,
            FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
