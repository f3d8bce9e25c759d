"""Speed, peak memory and FLOPs of NCBlock vs the naive formulation.

Times are fwd+bwd medians of variants run interleaved in one process (the
machine is shared and noisy, so compare ratios, not seconds); peak memory is
the growth of peak RSS over one fwd+bwd (Linux /proc), each variant in a
fresh process.

    python tools/analysis/benchmark_nc.py            # the three default cases
    python tools/analysis/benchmark_nc.py --case 128x2048x7x7:7 --repeat 5
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn

import mmnc  # noqa: F401
from mmnc.layers import NCBlock, SEBlock
from mmnc.testing import NaiveNC

DEFAULT_CASES = ('128x2048x7x7:7', '2x2048x41x41:16', '64x16x32x32:16')
VARIANTS = ('identity', 'se', 'nc', 'nc_naive')


def parse_case(case: str):
    shape, grid = case.split(':')
    return tuple(int(v) for v in shape.split('x')), int(grid)


def build(variant: str, channels: int, grid: int) -> nn.Module:
    torch.manual_seed(0)
    if variant == 'identity':
        return nn.Identity()
    if variant == 'se':
        return SEBlock(channels)
    nc = NCBlock(channels, grid=grid, zero_init=False)  # not a no-op
    return NaiveNC(nc) if variant == 'nc_naive' else nc


def fwd_bwd(model: nn.Module, x: torch.Tensor) -> None:
    x = x.detach().requires_grad_()
    model(x).sum().backward()


def flops(model: nn.Module, x: torch.Tensor) -> int:
    from mmengine.analysis import FlopAnalyzer
    if not any(True for _ in model.parameters()):
        return 0
    analyzer = FlopAnalyzer(model, (x, ))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analyzer.total()


def peak_memory(case: str, variant: str) -> float:
    """Peak RSS growth (MiB) of one fwd+bwd, measured in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, '--case', case, '--memory-of', variant,
         '--threads', str(torch.get_num_threads())],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])['mib']


def _status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f
                    if line.startswith(field + ':'))


def measure_memory(case: str, variant: str) -> None:
    shape, grid = parse_case(case)
    model = build(variant, shape[1], grid)
    x = torch.randn(shape)
    fwd_bwd(model, x[:1])  # warm up kernels at a tiny batch
    model.zero_grad(set_to_none=True)
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset the peak-RSS mark (Linux)
    before = _status_kib('VmRSS')
    fwd_bwd(model, x)
    print(json.dumps({'mib': (_status_kib('VmHWM') - before) / 1024}))


def check_equal(shape, grid) -> float:
    nc = build('nc', shape[1], grid)
    naive = NaiveNC(nc)
    x = torch.randn(min(shape[0], 8), *shape[1:], requires_grad=True)
    out, ref = nc(x), naive(x)
    g, = torch.autograd.grad(out.square().mean(), x)
    g_ref, = torch.autograd.grad(ref.square().mean(), x)
    return max((out - ref).abs().max().item(),
               (g - g_ref).abs().max().item())


def run_case(case: str, repeat: int) -> dict:
    shape, grid = parse_case(case)
    x = torch.randn(shape)
    models = {v: build(v, shape[1], grid) for v in VARIANTS}
    times = {v: [] for v in VARIANTS}
    for model in models.values():
        fwd_bwd(model, x)  # warm-up
    for _ in range(repeat):  # interleaved, so load hits every variant alike
        for v, model in models.items():
            t0 = time.perf_counter()
            fwd_bwd(model, x)
            times[v].append(time.perf_counter() - t0)
    rows = {}
    for v in VARIANTS:
        rows[v] = dict(
            seconds=statistics.median(times[v]),
            mib=peak_memory(case, v),
            gflops=flops(models[v], x) / 1e9)
    rows['max_abs_diff'] = check_equal(shape, grid)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--case', action='append',
                        help='NxCxHxW:grid (repeatable); default: '
                        + ', '.join(DEFAULT_CASES))
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument(
        '--threads', type=int, help='torch threads (default: torch\'s); '
        '1 keeps a loaded machine from stalling multi-threaded ops')
    parser.add_argument('--memory-of', help=argparse.SUPPRESS)
    args = parser.parse_args()
    cases = args.case or list(DEFAULT_CASES)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_of:
        measure_memory(cases[0], args.memory_of)
        return
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads; '
          'fwd+bwd, median of', args.repeat)
    for case in cases:
        rows = run_case(case, args.repeat)
        nc, naive = rows['nc'], rows['nc_naive']
        print(f'\n### {case}  (NxCxHxW:grid)\n')
        print('| variant | fwd+bwd (s) | peak mem (MiB) | fwd GFLOPs |')
        print('|---|---:|---:|---:|')
        for v in VARIANTS:
            r = rows[v]
            print(f'| {v} | {r["seconds"]:.4f} | {r["mib"]:.1f} | '
                  f'{r["gflops"]:.3f} |')
        print(f'\nNC vs naive: {naive["seconds"] / nc["seconds"]:.1f}x '
              f'faster, memory {nc["mib"] / max(naive["mib"], 1e-9):.3f}x; '
              f'max |diff| of output and input grad: '
              f'{rows["max_abs_diff"]:.2e}')


if __name__ == '__main__':
    main()
