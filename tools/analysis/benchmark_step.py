"""Training-step time of the full-size detection and segmentation configs:
baseline / +SE / +NC, interleaved in one process, as ratios.

One step is forward, losses and backward (no optimizer update) on a
synthetic batch sent through the model's data preprocessor, with random
weights (no checkpoint, no data loading): Faster R-CNN C4 R-101, one
320x320 image, 128 sampled RoIs; DeepLab-v2 R-101-D8, two 321x321 crops.
Each family runs with and without ``torch.set_flush_denormal(True)``
(random weights through frozen BNs make denormals, which CPUs compute many
times slower). ``nc-floor`` is +NC with the channel message skipped (the
rest of the block, its MLPs and resizes, still run): what NC would cost
with a free message.

    python tools/analysis/benchmark_step.py --family c4 --repeat 3
    python tools/analysis/benchmark_step.py --family deeplab --repeat 2
"""
import argparse
import statistics
import time
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

import mmnc  # noqa: F401
from mmnc.layers import nc_block

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = {
    'c4': ('mmdet', 'configs/faster_rcnn/faster-rcnn_r101-caffe-c4{}_1x_coco'
           '.py'),
    'deeplab': ('mmseg', 'configs/deeplabv2/deeplabv2_r101-d8{}_4xb4-20k_'
                'voc12aug-321x321.py'),
}
VARIANTS = {'base': '', 'se': '-se', 'nc': '-nc', 'nc-floor': '-nc'}


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


def build(family: str, variant: str) -> torch.nn.Module:
    scope, pattern = FAMILIES[family]
    cfg = Config.fromfile(str(ROOT / pattern.format(VARIANTS[variant])))
    cfg.model.backbone.init_cfg = None
    _cpu_norm(cfg.model)
    if family == 'c4':
        cfg.model.train_cfg.rcnn.sampler.num = 128
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    return model.train()


def batch(family: str) -> dict:
    g = torch.Generator().manual_seed(0)
    if family == 'c4':
        from mmdet.testing import demo_mm_inputs
        data = demo_mm_inputs(1, [(3, 320, 320)], num_items=[5],
                              num_classes=80)
        data['inputs'] = [torch.randint(0, 256, (3, 320, 320), generator=g,
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


def run(family: str, repeat: int, flush: bool) -> dict:
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
    return {v: statistics.median(t) for v, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--family', choices=sorted(FAMILIES),
                        action='append')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--threads', type=int)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads; '
          f'one training step (fwd + losses + bwd), median of {args.repeat}')
    print('\n| family | denormals | base (s) | +SE (s) | +NC (s) | '
          'NC floor (s) | SE / base | NC / base | NC / SE | floor / SE |')
    print('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for family in args.family or sorted(FAMILIES):
        for flush in (False, True):
            t = run(family, args.repeat, flush)
            print(f'| {family} | {"flushed" if flush else "kept"} | '
                  f'{t["base"]:.2f} | {t["se"]:.2f} | {t["nc"]:.2f} | '
                  f'{t["nc-floor"]:.2f} | {t["se"] / t["base"]:.3f} | '
                  f'{t["nc"] / t["base"]:.3f} | {t["nc"] / t["se"]:.3f} | '
                  f'{t["nc-floor"] / t["se"]:.3f} |', flush=True)
    torch.set_flush_denormal(False)


if __name__ == '__main__':
    main()
