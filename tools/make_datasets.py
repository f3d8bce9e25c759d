"""Make the tiny datasets used by the tests and the demo.

Usage::

    python tools/make_datasets.py all --out data
    python tools/make_datasets.py coco --out data --num-train 32 --size 192

Each name writes one folder of ``OUT``: the small sets the tests run the
full-size configs on (``coco``, ``voc``, ``vocseg``: ``coco_tiny``,
``voc_tiny``, ``vocseg_tiny``), the sets of the mini protocol
(``shape-crops``, ``coco-shapes``, ``voc-shapes``: ``shape_crops``,
``coco_shapes``, ``vocseg_shapes``) and the UCI digits (``digits``);
``all`` writes them all. See :mod:`mmnc.datasets.synthetic` for the layouts.
"""
import argparse
import inspect
import sys
from pathlib import Path
from typing import Callable, Dict, List, Tuple

try:
    import mmnc  # noqa: F401
except ModuleNotFoundError as err:  # not installed: run from a checkout
    if err.name != 'mmnc':
        raise
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmnc.datasets.synthetic import (
    make_coco_det,
    make_digits,
    make_shape_crops,
    make_voc_det,
    make_voc_seg,
)

# the demo's intervals: test images are cheap (tested, not trained on)
MINI = dict(num_train=512, num_val=128, num_test=512)
# name: (folder, maker, its defaults)
DATASETS: Dict[str, Tuple[str, Callable[..., Dict[str, int]], dict]] = {
    'coco': ('coco_tiny', make_coco_det, {}),
    'voc': ('voc_tiny', make_voc_det, {}),
    'vocseg': ('vocseg_tiny', make_voc_seg, {}),
    'digits': ('digits', make_digits, {}),
    'shape-crops': ('shape_crops', make_shape_crops, {}),
    'coco-shapes': ('coco_shapes', make_coco_det, dict(MINI, size=256)),
    'voc-shapes': ('vocseg_shapes', make_voc_seg, dict(MINI, size=128)),
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
                        help='train images (all but digits)')
    parser.add_argument('--num-val', type=int,
                        help='val/test images (all but digits)')
    parser.add_argument('--num-test', type=int,
                        help='test images (coco, vocseg, coco-shapes, '
                        'voc-shapes; default: as many as val)')
    parser.add_argument('--size', type=int,
                        help='image side in pixels (all but digits)')
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
        subdir, make, defaults = DATASETS[name]
        options = ({'val_fraction': args.val_fraction} if name == 'digits'
                   else {'num_train': args.num_train,
                         'num_val': args.num_val, 'size': args.size,
                         'num_test': args.num_test})
        if 'num_test' not in inspect.signature(make).parameters:
            options.pop('num_test', None)  # no test split
        kwargs = dict(defaults, **{k: v for k, v in options.items()
                                   if v is not None})
        root = args.out / subdir
        counts = make(root, seed=args.seed, **kwargs)
        summary = ' '.join(f'{k}={v}' for k, v in counts.items())
        print(f'{name}: {root} {summary}')


if __name__ == '__main__':
    main()
