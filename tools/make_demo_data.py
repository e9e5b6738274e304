"""Generate objcon's embedded demo scenes (COCO format, deterministic).

    python tools/make_demo_data.py [--out data/demo_scenes] [--train 400] [--val 100]
                                   [--size 256] [--seed 0]

The same arguments always give byte-identical images and json.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from objcon.datasets.demo_scenes import generate_demo_scenes  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/demo_scenes', help='dataset root')
    parser.add_argument('--train', type=int, default=400, help='train images')
    parser.add_argument('--val', type=int, default=100, help='val images')
    parser.add_argument('--size', type=int, nargs='+', default=[256],
                        help='image size: S or H W (default 256)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if len(args.size) not in (1, 2):
        parser.error('--size takes one or two integers')
    return args


def main(argv=None):
    args = parse_args(argv)
    size = tuple(args.size) * (2 if len(args.size) == 1 else 1)
    files = generate_demo_scenes(
        args.out, dict(train=args.train, val=args.val), seed=args.seed,
        image_size=size, show_progress=not args.quiet)
    for split, path in files.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
