"""#params and FLOPs of configs, as a Markdown table (the C3Net paper's
Tables 1-2): no data or checkpoint needed.

    python tools/analysis/complexity.py configs/resnet_cifar configs/wrn_cifar
    python tools/analysis/complexity.py configs/resnext/*.py --shape 224
    python tools/analysis/complexity.py DET_CONFIG --shape 800 1333
    python tools/analysis/complexity.py C4_CONFIG --part roi_head.shared_head \
        --shape 1024 14 14        # FLOPs of one RoI through the C4 head

See :mod:`mmnc.analysis.complexity` for how the input shape is chosen and
what is counted.
"""
import argparse
from typing import List

from mmengine.config import Config, DictAction

import mmnc  # noqa: F401  (registers mmnc's modules)
from mmnc.analysis.complexity import NOTE, complexity, expand, fmt_flops


def parse_args(argv: List[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='#params / FLOPs of configs as a Markdown table')
    parser.add_argument('configs', nargs='+', help='config files or folders')
    parser.add_argument(
        '--shape', type=int, nargs='+',
        help='input H W (or one side); default: inferred per config')
    parser.add_argument(
        '--part', help='count the FLOPs of this submodule only (e.g. '
        'roi_head.shared_head), fed a tensor of --shape (C H W)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of every config, key=value')
    args = parser.parse_args(argv)
    if args.part and (args.shape is None or len(args.shape) != 3):
        parser.error('--part needs --shape C H W')
    if (not args.part and args.shape is not None
            and len(args.shape) not in (1, 2)):
        parser.error('--shape takes H W or a single side')
    return args


def main(argv: List[str] | None = None) -> None:
    args = parse_args(argv)
    shape = args.shape if args.part else args.shape and (args.shape * 2)[:2]
    print('| config | #params | FLOPs | input | skipped |')
    print('| --- | ---: | ---: | --- | --- |')
    for path in expand(args.configs):
        cfg = Config.fromfile(str(path))
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        r = complexity(cfg, shape, args.part)
        print(f'| {path.stem} | {r["params"] / 1e6:.2f}M | '
              f'{fmt_flops(r["flops"])} | {r["input"]} | '
              f'{", ".join(r["skipped"]) or "-"} |')
    print(f'\n{NOTE}')


if __name__ == '__main__':
    main()
