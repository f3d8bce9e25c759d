"""Export a config's model (or its parts) through each route and compare the
exported artefact with eager PyTorch.

    python tools/deployment/export_check.py CONFIG [--checkpoint CKPT]
        [--shape H W] [--routes onnx-torchscript onnx-dynamo torch-export]

A two-stage detector is exported as two parts: ``trunk`` (image -> backbone
features and RPN outputs) and ``roi_head`` (RoI features -> class scores and
box deltas: the C4 shared head, where NC sits, and the box head); proposal
generation, RoIAlign and box post-processing are mmcv/mmdet ops left out.
A segmentor is exported whole in ``mode='tensor'`` (image -> logits). The
batch (images, RoIs) is dynamic: each part is exported at one batch size and
checked at two. Without ``--checkpoint`` the model gets random weights under
which every NC block changes its input. With ``--checkpoint`` every key but
NC's must be in it (a wrong checkpoint fails), and the check says when the
NC blocks are the identity (a baseline's checkpoint, or an NC that never
trained): their export is then checked only as ``x + 0``. Exit status 1 if any route differs
from eager by more than ``--tol`` (relative to max(1, max |output|)) or
fails. Needs ``pip install "mmnc[deploy]"``.
"""
import argparse
import os
import sys
import tempfile
import time
import warnings

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict

import mmnc
from mmnc.deploy import ROUTES, check_route, export_parts, randomize_for_check
from mmnc.utils.dist import sync_bn_to_bn


def load_strictly_but_nc(model: torch.nn.Module, checkpoint: str) -> None:
    """Load ``checkpoint``: every key of the model must be there, except NC
    blocks' (a baseline checkpoint with NC inserted); unexpected keys fail
    too. Raises ValueError naming the keys."""
    state = _load_checkpoint(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    state = {k[7:] if k.startswith('module.') else k: v
             for k, v in state.items()}
    expected = set(model.state_dict())
    missing = sorted(k for k in expected - set(state) if '.nc_block' not in k)
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        raise ValueError(
            f'{checkpoint} does not fit the config\'s model: missing '
            f'{missing[:5]} ({len(missing)} keys), unexpected '
            f'{unexpected[:5]} ({len(unexpected)} keys); give the checkpoint '
            f'of this config (or of its baseline, for +NC)')
    load_state_dict(model, state, strict=False)


def identity_nc_blocks(model: torch.nn.Module) -> list:
    """Names of the NC blocks whose last decoder layer is all zero (they
    compute ``x + 0``)."""
    return [n for n, m in model.named_modules()
            if isinstance(m, mmnc.NCBlock) and m.act is None
            and not m.decoder[-1].weight.any()
            and not m.decoder[-1].bias.any()]


def build_model(config: str, checkpoint: str | None,
                cfg_options: dict | None) -> torch.nn.Module:
    """The config's model on CPU in eval mode, without downloads: pretrained
    ``init_cfg`` dropped, SyncBN as BN."""
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    for part in ('backbone', 'roi_head.shared_head'):
        node = cfg.model
        for key in part.split('.'):
            node = node.get(key) if node is not None else None
        if node is not None:
            node['init_cfg'] = None
    for where in sync_bn_to_bn(cfg.model):
        print(f'NOTE: {where}: SyncBN built as BN (one process, CPU)')
    model = MODELS.build(cfg.model)
    model.init_weights()
    if checkpoint:
        load_strictly_but_nc(model, checkpoint)
    else:
        randomize_for_check(model)
    return model.eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint')
    parser.add_argument('--shape', type=int, nargs=2, default=(64, 64),
                        metavar=('H', 'W'), help='image size (default: 64 64)')
    parser.add_argument('--routes', nargs='+', choices=list(ROUTES),
                        default=list(ROUTES))
    parser.add_argument('--tol', type=float, default=1e-5)
    parser.add_argument('--work-dir', help='where the .onnx files go '
                        '(default: a temporary folder)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    warnings.filterwarnings('ignore')
    model = build_model(args.config, args.checkpoint, args.cfg_options)
    work_dir = args.work_dir or tempfile.mkdtemp(prefix='mmnc-export-')
    print(f'torch {torch.__version__}; {args.config}; image '
          f'{args.shape[0]}x{args.shape[1]}\n')
    identity = identity_nc_blocks(model)
    if identity:
        print(f'NOTE: {len(identity)} NC block(s) are the identity with these '
              f'weights ({identity[0]}, ...): their export is checked as x + 0 '
              f'only. Give a checkpoint trained with NC, or none (random '
              f'weights), to check what NC computes.\n')
    print('| part | input shapes | route | max rel. diff | time |')
    print('|---|---|---|---:|---:|')
    failed = 0
    for name, (module, inputs) in export_parts(model, args.shape).items():
        part_dir = os.path.join(work_dir, name)
        os.makedirs(part_dir, exist_ok=True)
        shapes = ', '.join('x'.join(map(str, x[0].shape)) for x in inputs)
        for route in args.routes:
            t0 = time.perf_counter()
            try:
                diff = check_route(module, inputs, route, args.tol, part_dir)
                result = f'{diff:.1e}'
            except Exception as e:  # report every route, fail at the end
                failed += 1
                result = f'FAILED: {type(e).__name__}: {str(e)[:200]}'
            print(f'| {name} | {shapes} | {route} | {result} | '
                  f'{time.perf_counter() - t0:.1f} s |', flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
