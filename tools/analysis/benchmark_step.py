"""Training-step time of the full-size detection and segmentation configs:
baseline / +SE / +NC, interleaved in one process, as ratios.

One step is forward, losses and backward (no optimizer update) on a
synthetic batch sent through the model's data preprocessor, with random
weights (no checkpoint, no data loading): Faster R-CNN C4 R-101, one
320x320 image, 128 sampled RoIs; DeepLab-v2 R-101-D8, two 321x321 crops;
``demo``, the demo's detection config (R-50 at quarter width, one 256x256
image, 32 sampled RoIs: NC groups of 128 channels on 4x4 maps). Each family
runs with and without ``torch.set_flush_denormal(True)`` (random weights
through frozen BNs make denormals, which CPUs compute many times slower).
``nc-floor`` is +NC with the channel message skipped (the rest of the
block, its MLPs and resizes, still run): what NC would cost with a free
message. ``nc-old`` is +NC with the block of main before issue 31
(``tools/analysis/nc_block_old.py``) holding the same weights.

``--memory`` also gives the peak memory of one step per variant: the growth
of peak RSS (Linux /proc) over one step after a warm-up step, each variant
in a fresh process whose glibc returns every block of 128 KiB or more to
the system when it is freed (see ``benchmark_nc.memory_child``).

    python tools/analysis/benchmark_step.py --family c4 --repeat 3
    python tools/analysis/benchmark_step.py --family demo --repeat 5
    python tools/analysis/benchmark_step.py --family c4 --memory
    python tools/analysis/benchmark_step.py --family demo \
        --checkpoint nc=work_dirs/demo/det/<+NC config>/seed1/epoch_4.pth

``--checkpoint VARIANT=PATH`` loads trained weights (strictly) into a
variant (``nc`` also into ``nc-old`` and ``nc-floor``): trained keys can be
spread otherwise than random ones, and the fast message's cost follows the
spread. Without ``--checkpoint``, the demo family runs a second time with
the trained weights of ``make demo`` where they are present (seed 1 of its
baseline, +SE and +NC detection runs in ``work_dirs/demo/det``): the row
``demo, trained``. Each family also prints, for every NC message of one
+NC step, its group width C, the keys' spread, the path the cost model
chose and the forward time of the message (twice for a block whose
exchange is recomputed in backward, from a 4 MiB hidden on: in forward,
then in backward's recomputation, in reverse order).
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

import mmnc  # noqa: F401
from mmnc.layers import NCBlock, nc_block
from mmnc.layers.gauss_transform import plan

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nc_block_old  # noqa: E402  (the block of main at 9fb9f0b)
from benchmark_nc import memory_child, rss_growth  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = {
    'c4': ('mmdet', 'configs/faster_rcnn/faster-rcnn_r101-caffe-c4{}_1x_coco'
           '.py'),
    'deeplab': ('mmseg', 'configs/deeplabv2/deeplabv2_r101-d8{}_4xb4-20k_'
                'voc12aug-321x321.py'),
    'demo': ('mmdet', 'configs/mini/faster-rcnn_r50-w16-c4{}_1xb4-4e_coco-'
             'shapes.py'),
}
VARIANTS = {'base': '', 'se': '-se', 'nc': '-nc', 'nc-old': '-nc',
            'nc-floor': '-nc'}
IMAGE = {'c4': 320, 'demo': 256}


def with_old_blocks(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with each NCBlock replaced by the old block (same
    arguments, same weights; the configs here have no ``act_cfg``)."""
    for name, block in list(model.named_modules()):
        if isinstance(block, NCBlock):
            assert block.act is None, 'act_cfg is not carried over'
            old = nc_block_old.NCBlock(
                block.in_channels, grid=block.grid,
                reduction=block.reduction,
                group_size=block.in_channels // block.num_groups,
                resize_mode=block.resize_mode, zero_init=False)
            old.load_state_dict(block.state_dict())
            parent, _, leaf = name.rpartition('.')
            setattr(model.get_submodule(parent), leaf, old.train())
    return model


def _cpu_norm(node) -> None:
    """SyncBN -> BN (SyncBN refuses the CPU; every BN here is frozen)."""
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
        for v in node.values():
            _cpu_norm(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _cpu_norm(v)


CHECKPOINTS: dict = {}  # variant ('base', 'se', 'nc') -> checkpoint path
DEMO_RUNS = ROOT / 'work_dirs' / 'demo' / 'det'
REPORTS: dict = {}  # (label, flush) -> message_report of its +NC model


def demo_checkpoints() -> dict:
    """The last checkpoints of ``make demo``'s seed-1 detection runs, per
    variant, if all three are there; else ``{}``."""
    name = Path(FAMILIES['demo'][1]).stem
    found = {v: DEMO_RUNS / name.format(VARIANTS[v]) / 'seed1' / 'epoch_4.pth'
             for v in ('base', 'se', 'nc')}
    return ({v: str(p) for v, p in found.items()}
            if all(p.is_file() for p in found.values()) else {})


def build(family: str, variant: str) -> torch.nn.Module:
    scope, pattern = FAMILIES[family]
    cfg = Config.fromfile(str(ROOT / pattern.format(VARIANTS[variant])))
    cfg.model.backbone.init_cfg = None
    _cpu_norm(cfg.model)
    if family == 'c4':
        cfg.model.train_cfg.rcnn.sampler.num = 128
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    path = CHECKPOINTS.get(variant.split('-')[0])
    if path:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, path, map_location='cpu', strict=True)
    return (with_old_blocks(model) if variant == 'nc-old' else model).train()


def batch(family: str) -> dict:
    g = torch.Generator().manual_seed(0)
    if family in IMAGE:
        from mmdet.testing import demo_mm_inputs
        size = IMAGE[family]
        data = demo_mm_inputs(1, [(3, size, size)], num_items=[5],
                              num_classes=80 if family == 'c4' else 3)
        data['inputs'] = [torch.randint(0, 256, (3, size, size), generator=g,
                                        dtype=torch.uint8)]
        return data
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    images, samples = [], []
    for _ in range(2):
        images.append(torch.randint(0, 256, (3, 321, 321), generator=g,
                                    dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(img_shape=(321, 321),
                                             ori_shape=(321, 321)))
        sample.gt_sem_seg = PixelData(data=torch.randint(
            0, 21, (1, 321, 321), generator=g))
        samples.append(sample)
    return dict(inputs=images, data_samples=samples)


def step(model: torch.nn.Module, data: dict, skip_message: bool) -> None:
    model.zero_grad(set_to_none=True)
    message = nc_block.nc_message
    if skip_message:  # the block's cost without its message
        nc_block.nc_message = lambda v, m: v
    try:
        data = model.data_preprocessor(data, True)
        loss, _ = model.parse_losses(model(**data, mode='loss'))
        loss.backward()
    finally:
        nc_block.nc_message = message


def message_report(model: torch.nn.Module, data: dict) -> list:
    """Per NC message call of one step: C, the keys' spread, the path the
    cost model takes (:func:`mmnc.layers.gauss_transform.plan`) and the
    message's forward time."""
    rows, real = [], nc_block.nc_message

    def recorded(v, m):
        spread = float((m.amax(-1) - m.amin(-1)).max().detach())
        pl = plan(spread, m.size(-1), v.dtype)
        t0 = time.perf_counter()
        out = real(v, m)
        rows.append((m.size(-1), spread, f'transform {pl.boxes}x{pl.terms}'
                     if pl else 'exact', time.perf_counter() - t0))
        return out

    nc_block.nc_message = recorded
    try:
        step(model, data, False)
    finally:
        nc_block.nc_message = real
    return rows


def run(family: str, label: str, repeat: int, flush: bool) -> dict:
    torch.set_flush_denormal(flush)
    models = {v: build(family, v) for v in VARIANTS}
    times = {v: [] for v in VARIANTS}
    data = batch(family)
    for v, model in models.items():
        torch.manual_seed(0)
        step(model, data, v == 'nc-floor')  # warm-up
    for _ in range(repeat):  # interleaved: load hits every variant alike
        for v, model in models.items():
            torch.manual_seed(0)
            t0 = time.perf_counter()
            step(model, data, v == 'nc-floor')
            times[v].append(time.perf_counter() - t0)
    REPORTS[label, flush] = message_report(models['nc'], data)
    return {v: statistics.median(t) for v, t in times.items()}


def measure_memory(family: str, variant: str, flush: bool) -> None:
    """Print the peak RSS growth (MiB) of one step, as JSON."""
    torch.set_flush_denormal(flush)
    model, data = build(family, variant), batch(family)
    step(model, data, variant == 'nc-floor')  # warm-up: kernels, grads
    print(rss_growth(lambda: step(model, data, variant == 'nc-floor')))


def peak_memory(family: str, variant: str) -> float:
    return memory_child(
        __file__, '--memory-of', f'{family}:{variant}',
        *[f'--checkpoint={v}={p}' for v, p in CHECKPOINTS.items()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--family', choices=sorted(FAMILIES),
                        action='append')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--threads', type=int)
    parser.add_argument('--memory', action='store_true',
                        help='also the peak memory of one step per variant')
    parser.add_argument('--checkpoint', action='append', default=[],
                        metavar='VARIANT=PATH', help='trained weights of '
                        'base, se or nc (repeatable)')
    parser.add_argument('--memory-of', help=argparse.SUPPRESS)
    args = parser.parse_args()
    for item in args.checkpoint:
        variant, sep, path = item.partition('=')
        if not sep or variant not in ('base', 'se', 'nc'):
            parser.error(f'--checkpoint takes base=PATH, se=PATH or '
                         f'nc=PATH, got {item!r}')
        CHECKPOINTS[variant] = path
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_of:
        family, variant = args.memory_of.split(':')
        measure_memory(family, variant, True)
        return
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads; '
          f'one training step (fwd + losses + bwd), median of {args.repeat}')
    print('\n| family | denormals | base (s) | +SE (s) | +NC (s) | '
          'SE / base | NC / base | NC / SE | old NC / SE | floor / SE |')
    print('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    runs = [(f, dict(CHECKPOINTS)) for f in args.family or sorted(FAMILIES)]
    trained = {} if args.checkpoint else demo_checkpoints()
    if trained and any(f == 'demo' for f, _ in runs):
        runs.append(('demo', trained))
    for family, weights in runs:
        CHECKPOINTS.clear()
        CHECKPOINTS.update(weights)
        label = f'{family}, trained' if weights else family
        for flush in (False, True):
            t = run(family, label, args.repeat, flush)
            print(f'| {label} | {"flushed" if flush else "kept"} | '
                  f'{t["base"]:.3f} | {t["se"]:.3f} | {t["nc"]:.3f} | '
                  f'{t["se"] / t["base"]:.3f} | {t["nc"] / t["base"]:.3f} | '
                  f'{t["nc"] / t["se"]:.3f} | {t["nc-old"] / t["se"]:.3f} | '
                  f'{t["nc-floor"] / t["se"]:.3f} |', flush=True)
    torch.set_flush_denormal(False)
    for (label, flush), rows in REPORTS.items():
        print(f'\n{label} +NC, denormals {"flushed" if flush else "kept"}, '
              f'one step: every NC message\n\n| call | C | key spread | '
              f'path | fwd (ms) |\n|---:|---:|---:|---|---:|')
        for i, (c, spread, path, t) in enumerate(rows):
            print(f'| {i} | {c} | {spread:.3g} | {path} | {1e3 * t:.2f} |')
    if not args.memory:
        return
    CHECKPOINTS.clear()
    CHECKPOINTS.update(runs[0][1])
    print('\n| family | peak MiB: ' + ' | '.join(VARIANTS)
          + ' | NC / SE |\n|---|' + '---:|' * (len(VARIANTS) + 1))
    for family in args.family or sorted(FAMILIES):
        mib = {v: peak_memory(family, v) for v in VARIANTS}
        print(f'| {family} | ' + ' | '.join(f'{m:.0f}' for m in mib.values())
              + f' | {mib["nc"] / mib["se"]:.3f} |', flush=True)


if __name__ == '__main__':
    main()
