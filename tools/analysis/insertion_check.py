"""Insertion check: +NC on a trained baseline's weights computes exactly what
the baseline computes.

NC starts as the identity, so a network with NC inserted into a trained
baseline must give the baseline's raw outputs bit for bit (detections'
boxes, scores and labels; segmentation logits; class scores), not merely the
same rounded metric. Both models load the checkpoint as tools/test.py does
(the +NC one misses only its NC parameters) and run the first ``--batches``
batches of the test split; every tensor is compared with ``torch.equal``.

    python tools/analysis/insertion_check.py BASE_CONFIG NC_CONFIG CKPT \\
        [--cfg-options ...] [--nc-options ...] [--batches 2]

Prints ``equal`` or where the outputs differ and by how much; exits 1 if
they differ.
"""
import argparse
import os
import sys
import tempfile
from typing import Any, Iterator, List, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mmnc  # noqa: F401  (registers mmnc's modules)


def raw_outputs(config: str, ckpt: str, options: dict | None,
                batches: int, work_dir: str) -> List[Any]:
    """``test_step`` outputs of the first ``batches`` test batches, with the
    checkpoint loaded as tools/test.py loads it."""
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    cfg.load_from = ckpt
    # a name of its own: mmengine's visualizer and logger are per name
    cfg.work_dir = work_dir
    cfg.experiment_name = f'insertion_{os.path.basename(work_dir)}'
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    runner.model.eval()
    out = []
    with torch.no_grad():
        for i, batch in enumerate(runner.test_dataloader):
            if i == batches:
                break
            out += [s.to_dict() if hasattr(s, 'to_dict') else s
                    for s in runner.model.test_step(batch)]
    return out


def differences(a: Any, b: Any, where: str = '') -> Iterator[Tuple[str, str]]:
    """``(where, how)`` for every leaf of ``a`` and ``b`` that differs."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
                and a.shape == b.shape):
            shapes = [getattr(x, 'shape', x) for x in (a, b)]
            yield where, f'{shapes[0]} vs {shapes[1]}'
        elif not torch.equal(a, b):
            diff = (a.double() - b.double()).abs().max().item()
            yield where, f'max |difference| {diff:.3g}'
    elif isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            yield where, f'keys {sorted(a)} vs {sorted(b)}'
        for key in a.keys() & b.keys():
            yield from differences(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            yield where, f'{len(a)} vs {len(b)} items'
        for i, (x, y) in enumerate(zip(a, b)):
            yield from differences(x, y, f'{where}[{i}]')
    elif a != b:
        yield where, f'{a!r:.80} vs {b!r:.80}'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('base_config')
    parser.add_argument('nc_config')
    parser.add_argument('checkpoint', help="the trained baseline's")
    parser.add_argument('--batches', type=int, default=2)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='options of both configs, key=value')
    parser.add_argument('--nc-options', nargs='+', action=DictAction,
                        help='options of the +NC config only')
    args = parser.parse_args(argv)
    nc_options = {**(args.cfg_options or {}), **(args.nc_options or {})}
    with tempfile.TemporaryDirectory() as work:
        base = raw_outputs(args.base_config, args.checkpoint,
                           args.cfg_options, args.batches, f'{work}/base')
        got = raw_outputs(args.nc_config, args.checkpoint, nc_options,
                          args.batches, f'{work}/nc')
    found = list(differences(base, got))
    if not base:
        print('insertion check: no test batch was run')
        return 1
    if found:
        shown = '; '.join(f'{w}: {h}' for w, h in found[:5])
        print(f'insertion check: DIFFERENT in {len(found)} outputs of '
              f'{len(base)} test samples ({shown})')
        return 1
    print(f'insertion check: equal (raw outputs of {len(base)} test samples '
          f'bit for bit)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
