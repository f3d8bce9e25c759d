"""Make the tiny datasets used by the tests and the demo.

Usage::

    python tools/make_datasets.py all --out data
    python tools/make_datasets.py coco --out data --num-train 32 --size 192

``coco``, ``voc``, ``vocseg`` and ``digits`` write ``OUT/coco_tiny``,
``OUT/voc_tiny``, ``OUT/vocseg_tiny`` and ``OUT/digits``; ``all`` writes the
four. See :mod:`mmnc.testing.tiny_data` for the layouts.
"""
import argparse
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

try:
    import mmnc  # noqa: F401
except ModuleNotFoundError as err:  # not installed: run from a checkout
    if err.name != 'mmnc':
        raise
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmnc.testing.tiny_data import (
    make_coco_det,
    make_digits,
    make_voc_det,
    make_voc_seg,
)

DATASETS: Dict[str, Tuple[str, Callable[..., Dict[str, int]]]] = {
    'coco': ('coco_tiny', make_coco_det),
    'voc': ('voc_tiny', make_voc_det),
    'vocseg': ('vocseg_tiny', make_voc_seg),
    'digits': ('digits', make_digits),
}


def parse_args(argv: List[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('dataset', choices=['all', *DATASETS])
    parser.add_argument('--out', default='data', type=Path,
                        help='parent directory of the datasets')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int,
                        help='train images (coco, voc, vocseg)')
    parser.add_argument('--num-val', type=int,
                        help='val/test images (coco, voc, vocseg)')
    parser.add_argument('--size', type=int,
                        help='image side in pixels (coco, voc, vocseg)')
    parser.add_argument('--val-fraction', type=float,
                        help='fraction of each class in val (digits)')
    return parser.parse_args(argv)


def main(argv: List[str] | None = None) -> None:
    """Make the requested datasets and print one line per dataset.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` if None.
    """
    args = parse_args(argv)
    names = list(DATASETS) if args.dataset == 'all' else [args.dataset]
    for name in names:
        subdir, make = DATASETS[name]
        options = ({'val_fraction': args.val_fraction} if name == 'digits'
                   else {'num_train': args.num_train,
                         'num_val': args.num_val, 'size': args.size})
        kwargs = {k: v for k, v in options.items() if v is not None}
        root = args.out / subdir
        counts = make(root, seed=args.seed, **kwargs)
        summary = ' '.join(f'{k}={v}' for k, v in counts.items())
        print(f'{name}: {root} {summary}')


if __name__ == '__main__':
    main()
