"""Check NC and SE on a GPU in one command: exactness, speed, memory, AMP.

    python tools/analysis/gpu_check.py            # on a machine with CUDA

1. Exactness of NCBlock against the plain formulation (``mmnc.testing``,
   computed in float64): float64, float32, autocast fp16 and bf16, and the
   block cast to fp16 / bf16; outputs and input gradients, on the grid and
   off it (folded resizes), and the standard-op path that exporters and
   ``torch.compile`` record. Passes below the tolerances printed.
2. fwd+bwd time (median) and peak memory of NC (chunked Function: what eager
   training runs), NC's standard-op path, the plain formulation and SE at
   the C4 RoI-head shape 128x2048x7x7 (grid 7) and the DeepLab-v2 shape
   2x2048x41x41 (grid 41), in fp32 and under fp16 autocast.
3. mmengine's ``AmpOptimWrapper`` (fp16 with loss scaling, bf16): three
   training steps of a small network with NC and SE; losses and gradients
   finite.

Every forward and backward of 1. and 2. runs under
``torch.cuda.set_sync_debug_mode('error')``: a host read of a device value
inside a block (a stall of the stream) fails the check.

Prints Markdown tables and ends with ``gpu_check: all checks passed`` (exit
0) or ``gpu_check: N checks FAILED`` (exit 1). Without CUDA it says so and
exits with status 2. ``--device cpu --quick`` runs the same code on the CPU
at small shapes (to test this script, not to measure).
"""
import argparse
import statistics
import sys
import time
from contextlib import contextmanager

import torch
import torch.nn as nn

import mmnc  # noqa: F401
from mmnc.layers import NCBlock, SEBlock, nc_block
from mmnc.testing import NaiveNC

# max |diff| / max(1, max |reference|), per precision
TOLERANCE = {'float64': 1e-9, 'float32': 1e-5, 'autocast-fp16': 5e-3,
             'autocast-bf16': 3e-2, 'cast-fp16': 2e-2, 'cast-bf16': 1e-1}
SHAPES = {'roi-head': ((128, 2048, 7, 7), 7),
          'deeplab': ((2, 2048, 41, 41), 41)}
QUICK_SHAPES = {'roi-head': ((4, 1024, 7, 7), 7),
                'deeplab': ((1, 1024, 12, 12), 12)}


@contextmanager
def graph_path(enabled: bool = True):
    """Run NC's standard-op path (the one exporters and compilers record)
    in eager mode, to time and check it."""
    original = nc_block.recording_graph
    if enabled:
        nc_block.recording_graph = lambda: True
    try:
        yield
    finally:
        nc_block.recording_graph = original


def rel_diff(got: torch.Tensor, ref: torch.Tensor) -> float:
    got, ref = got.double(), ref.double()
    if not torch.isfinite(got).all():
        return float('inf')
    return ((got - ref).abs().max() / ref.abs().max().clamp(min=1)).item()


@contextmanager
def no_host_syncs(device: str):
    """On CUDA, any host read of a device value in the block's forward and
    backward raises (``torch.cuda.set_sync_debug_mode('error')``)."""
    if device != 'cuda':
        yield
        return
    torch.cuda.set_sync_debug_mode('error')
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode('default')


def fwd_bwd(fn, x: torch.Tensor):
    x = x.detach().requires_grad_()
    with no_host_syncs(x.device.type):
        out = fn(x)
        out.float().square().mean().backward()
    return out, x.grad


def exactness(device: str, quick: bool) -> list:
    rows = []
    channels = 1024 if quick else 2048
    for hw in ((7, 7), (5, 9)):
        torch.manual_seed(0)
        block = NCBlock(channels, grid=7, zero_init=False).to(device)
        x = torch.randn(2, channels, *hw, device=device) * 2
        ref64 = NaiveNC(NCBlock(channels, grid=7).to(device).double())
        ref64.block.load_state_dict(block.state_dict())
        ref_out, ref_grad = fwd_bwd(ref64, x.double())
        cases = {  # the block's cast, the input's dtype, autocast dtype
            'float64': ('double', torch.float64, None),
            'float32': ('float', torch.float32, None),
            'autocast-fp16': ('float', torch.float32, torch.float16),
            'autocast-bf16': ('float', torch.float32, torch.bfloat16),
            'cast-fp16': ('half', torch.float16, None),
            'cast-bf16': ('bfloat16', torch.bfloat16, None),
        }
        for name, (cast, dtype, amp) in cases.items():
            for path in ('eager', 'graph'):
                model = getattr(block, cast)()
                with graph_path(path == 'graph'), torch.autocast(
                        device, dtype=amp or torch.float16,
                        enabled=amp is not None):
                    try:
                        out, grad = fwd_bwd(model, x.to(dtype))
                        diff = max(rel_diff(out, ref_out),
                                   rel_diff(grad, ref_grad))
                    except Exception as e:  # report, do not stop
                        diff, name = float('inf'), f'{name} ({e})'
                rows.append(('x'.join(map(str, x.shape)), name, path, diff,
                             TOLERANCE[name.split(' ')[0]]))
        block.float()
    return rows


def measure(fn, x: torch.Tensor, device: str, repeat: int):
    """Median fwd+bwd seconds and peak memory above the input (MiB)."""
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    fwd_bwd(fn, x)  # warm-up
    times = []
    for _ in range(repeat):
        sync()
        t0 = time.perf_counter()
        fwd_bwd(fn, x)
        sync()
        times.append(time.perf_counter() - t0)
    peak = float('nan')
    if device == 'cuda':
        torch.cuda.empty_cache()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fwd_bwd(fn, x)
        sync()
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    return statistics.median(times), peak


def speed(device: str, quick: bool, repeat: int) -> list:
    rows = []
    for case, (shape, grid) in (QUICK_SHAPES if quick else SHAPES).items():
        torch.manual_seed(0)
        nc = NCBlock(shape[1], grid=grid, zero_init=False).to(device)
        se = SEBlock(shape[1]).to(device)
        x = torch.randn(shape, device=device)
        variants = {'nc': (nc, False), 'nc graph path': (nc, True),
                    'plain': (NaiveNC(nc), False), 'se': (se, False)}
        for amp in (None, torch.float16):
            for name, (fn, graph) in variants.items():
                with graph_path(graph), torch.autocast(
                        device, dtype=amp or torch.float16,
                        enabled=amp is not None):
                    try:
                        sec, mib = measure(fn, x, device, repeat)
                    except torch.cuda.OutOfMemoryError:
                        sec, mib = float('nan'), float('inf')
                rows.append((f'{case} {"x".join(map(str, shape))}:{grid}',
                             'autocast-fp16' if amp else 'float32', name,
                             sec, mib))
    return rows


def amp_training(device: str) -> list:
    from mmengine.optim import AmpOptimWrapper
    rows = []
    for dtype in ('float16', 'bfloat16'):
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(),
            NCBlock(64, grid=7, zero_init=False), SEBlock(64),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)).to(
                device)
        try:
            wrapper = AmpOptimWrapper(
                optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
                dtype=dtype)
            ok = True
            for _ in range(3):
                x = torch.randn(8, 3, 14, 14, device=device)
                y = torch.randint(0, 10, (8, ), device=device)
                with wrapper.optim_context(model):
                    loss = nn.functional.cross_entropy(model(x), y)
                wrapper.backward(loss)
                ok &= bool(torch.isfinite(loss)) and all(
                    torch.isfinite(p.grad).all() for p in model.parameters()
                    if p.grad is not None)
                wrapper.step()
                wrapper.zero_grad()
            result = f'loss {loss.item():.3f}, finite' if ok else 'NOT finite'
        except Exception as e:  # e.g. AmpOptimWrapper refuses the device
            ok, result = False, f'{type(e).__name__}: {e}'
        rows.append((dtype, ok, result))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    parser.add_argument('--quick', action='store_true',
                        help='small shapes (to test this script)')
    parser.add_argument('--repeat', type=int, default=10)
    args = parser.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        print(f'gpu_check: no CUDA device here (torch {torch.__version__}, '
              f'built with CUDA {torch.version.cuda}). Run it on a machine '
              f'with an NVIDIA GPU; the CPU checks are tests/test_deploy.py '
              f'and tests/test_nc_block.py.', file=sys.stderr)
        return 2
    name = (torch.cuda.get_device_name() if args.device == 'cuda' else
            'CPU')
    print(f'torch {torch.__version__}, {name}; NC chunk bound '
          f'{nc_block._CHUNK_ELEMENTS.get(args.device)} elements\n')
    failed = 0
    print('| input | precision | path | max rel. diff vs float64 plain '
          '| tolerance | |\n|---|---|---|---:|---:|---|')
    for shape, prec, path, diff, tol in exactness(args.device, args.quick):
        ok = diff <= tol
        failed += not ok
        print(f'| {shape} | {prec} | {path} | {diff:.1e} | {tol:g} | '
              f'{"ok" if ok else "FAILED"} |')
    print('\n| case | precision | variant | fwd+bwd (ms) | peak mem (MiB) |'
          '\n|---|---|---|---:|---:|')
    for case, prec, variant, sec, mib in speed(args.device, args.quick,
                                               args.repeat):
        mem = '-' if mib != mib else f'{mib:.0f}'  # NaN: not measured (CPU)
        print(f'| {case} | {prec} | {variant} | {sec * 1e3:.2f} | {mem} |')
    print('\n| AmpOptimWrapper | 3 steps | |\n|---|---|---|')
    for dtype, ok, result in amp_training(args.device):
        failed += not ok and args.device == 'cuda'
        print(f'| {dtype} | {result} | {"ok" if ok else "FAILED"} |')
    print(f'\ngpu_check: {"all checks passed" if not failed else f"{failed} checks FAILED"}')  # noqa: E501
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
