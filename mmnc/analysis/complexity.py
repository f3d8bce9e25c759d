"""#params and FLOPs of a config's model (``tools/analysis/complexity.py``).

The input shape comes from ``--shape`` (``H W`` or one side) or, without
it, from the config: 32x32 for CIFAR datasets, else the crop or resize size
of the test pipeline, else 224x224. FLOPs are multiply-adds of one image,
counted by mmengine's FlopAnalyzer on ``model(inputs, mode='tensor')``.
"""
from pathlib import Path
from typing import Iterator, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.structures import BaseDataElement

NOTE = ('FLOPs: multiply-adds for one image, counted by mmengine (elementwise '
        'ops and pooling left out, as fvcore does), NC\'s C3 messages '
        'included. The C3Net paper used another counter, which skipped '
        'batched matmuls (the messages), so its NC rows are not comparable. '
        '"skipped": other ops without a counting rule (their FLOPs are '
        'missing).')
# Unsupported ops that are cheap by convention (elementwise, pooling).
CHEAP = {
    'add', 'sub', 'rsub', 'mul', 'div', 'neg', 'exp', 'pow', 'sqrt', 'mean',
    'sum', 'relu', 'relu6', 'hardtanh', 'sigmoid', 'hardsigmoid', 'silu',
    'gelu', 'softmax', 'max_pool2d', 'avg_pool2d'
}


class TensorMode(nn.Module):
    """``model(x, data_samples, mode='tensor')``: the network without the
    pre- and post-processing, for mmpretrain, mmdet and mmseg models."""

    def __init__(self, model: nn.Module, shape: Tuple[int, int]):
        super().__init__()
        self.model = model
        meta = dict(img_shape=shape, ori_shape=shape, pad_shape=shape,
                    batch_input_shape=shape, scale_factor=(1.0, 1.0))
        self.data_samples = [BaseDataElement(metainfo=meta)]

    def forward(self, x: torch.Tensor):
        return self.model(x, self.data_samples, mode='tensor')


def infer_shape(cfg: Config) -> Tuple[int, int]:
    """The ``(H, W)`` the config's test pipeline feeds the model."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = loader.get('dataset', {})
    while 'dataset' in dataset:  # wrappers
        dataset = dataset['dataset']
    if 'CIFAR' in str(dataset.get('type', '')):
        return 32, 32
    shape = None
    for t in dataset.get('pipeline', []):
        size = t.get('crop_size') or t.get('scale')
        if size is not None:
            # mmcv sizes are (w, h)
            shape = (size, size) if isinstance(size, int) else size[::-1]
    return tuple(shape) if shape else (224, 224)


def complexity(cfg: Config, shape: Sequence[int] | None,
               part: str | None = None) -> dict:
    """Build ``cfg.model`` and count its parameters and FLOPs (of ``part``,
    a submodule fed a ``[1, *shape]`` tensor, if given)."""
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model = MODELS.build(cfg.model).eval()
    if part:
        module, x = model.get_submodule(part), torch.zeros(1, *shape)
    else:
        shape = tuple(shape) if shape else infer_shape(cfg)
        module, x = TensorMode(model, shape), torch.zeros(1, 3, *shape)
    flops = FlopAnalyzer(module, x)
    flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    # NC builds its resize matrices from an identity: no multiply-adds
    flops.set_op_handle('aten::eye', None, 'aten::new_ones', None)
    with torch.no_grad():
        total = flops.total()
    return dict(
        params=sum(p.numel() for p in model.parameters()),
        flops=total,
        input=(f'{part} ' if part else '')
        + 'x'.join(map(str, x.shape[1 if part else 2:])),
        skipped=sorted(op for op in flops.unsupported_ops()
                       if op.split('::')[-1].rstrip('_') not in CHEAP))


def expand(paths: Sequence[str]) -> Iterator[Path]:
    """Config files, with folders expanded (their ``_base_`` left out)."""
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(f for f in p.rglob('*.py')
                              if '_base_' not in f.parts)
        else:
            yield p


def fmt_flops(n: float) -> str:
    return f'{n / 1e9:.2f}G' if n >= 1e9 else f'{n / 1e6:.1f}M'
