"""Speed, peak memory and FLOPs of NCBlock vs the naive formulation.

Variants: identity, SE, NC (its message by the fast Gauss transform where
the cost model picks it), the block of main before issue 31 with the same
weights (``nc_old``, ``tools/analysis/nc_block_old.py``), NC with the exact
message forced (``nc_exact``), the naive formulation, and the host's conv
that makes the block's input (``conv``: a bottleneck's conv3, 1x1 from
C/4 to C channels, at the same N, H, W). Times are fwd+bwd medians of
variants run interleaved in one process (the machine is shared and noisy,
so compare ratios, not seconds); peak memory is the growth of peak RSS over
one fwd+bwd (Linux /proc), each variant in a fresh process. GFLOP/s counts
fwd+bwd as three forwards (mmengine's FlopAnalyzer; a multiply-add is one
FLOP there, two here) and is given as a share of this machine's float32
matmul peak (a 2048x2048 ``torch.mm``, measured first): the distance to
the limit.
``--message`` times the message alone (exact vs fast Gauss transform) for
the keys of a random block and for uniform keys of a few spreads.

    python tools/analysis/benchmark_nc.py            # the three default cases
    python tools/analysis/benchmark_nc.py --case 128x2048x7x7:7 --repeat 5
    python tools/analysis/benchmark_nc.py --message 512x512x6 --repeat 5
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

import mmnc  # noqa: F401
from mmnc.layers import NCBlock, SEBlock, nc_block
from mmnc.layers.gauss_transform import plan
from mmnc.testing import NaiveNC

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nc_block_old  # noqa: E402  (the block of main at 9fb9f0b)

DEFAULT_CASES = ('128x2048x7x7:7', '2x2048x41x41:16', '64x16x32x32:16')
VARIANTS = ('identity', 'conv', 'se', 'nc', 'nc_old', 'nc_exact', 'nc_naive')


class ExactNC(nn.Module):
    """An NC block whose message always takes the exact path."""

    def __init__(self, block: NCBlock):
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with nc_block.exact_message():
            return self.block(x)


def parse_case(case: str):
    shape, grid = case.split(':')
    return tuple(int(v) for v in shape.split('x')), int(grid)


def build(variant: str, channels: int, grid: int) -> nn.Module:
    torch.manual_seed(0)
    if variant == 'identity':
        return nn.Identity()
    if variant == 'conv':
        return nn.Conv2d(channels // 4, channels, 1, bias=False)
    if variant == 'se':
        return SEBlock(channels)
    nc = NCBlock(channels, grid=grid, zero_init=False)  # not a no-op
    if variant == 'nc_old':  # the same weights in the old block
        old = nc_block_old.NCBlock(channels, grid=grid, zero_init=False)
        old.load_state_dict(nc.state_dict())
        return old
    wrap = dict(nc_naive=NaiveNC, nc_exact=ExactNC)
    return wrap[variant](nc) if variant in wrap else nc


def fwd_bwd(model: nn.Module, x: torch.Tensor, grad: torch.Tensor) -> None:
    """Forward, then backward of a dense output gradient ``grad`` (as the
    next layer gives; ``.sum().backward()`` would give an expanded scalar,
    which costs NC's backward a copy of the whole map that training never
    pays)."""
    x = x.detach().requires_grad_()
    model(x).backward(grad)


def flops(model: nn.Module, x: torch.Tensor) -> int:
    from mmengine.analysis import FlopAnalyzer
    if not any(True for _ in model.parameters()):
        return 0
    analyzer = FlopAnalyzer(model, (x, ))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analyzer.total()


def memory_child(script: str, *args: str) -> float:
    """Run ``script *args`` (a ``--memory-of`` call that prints
    :func:`rss_growth` as JSON) in a fresh process and return its MiB. Its
    glibc gives every freed block of 128 KiB or more back to the system
    (``MALLOC_MMAP_THRESHOLD_``; by default glibc raises that threshold
    after the first frees and keeps the warm-up's memory, which the measured
    pass would then reuse unseen)."""
    out = subprocess.run(
        [sys.executable, script, *args,
         '--threads', str(torch.get_num_threads())],
        check=True, capture_output=True, text=True,
        env=dict(os.environ, MALLOC_MMAP_THRESHOLD_='131072',
                 PYTHONWARNINGS='ignore')).stdout
    return json.loads(out.strip().splitlines()[-1])['mib']


def _status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f
                    if line.startswith(field + ':'))


def rss_growth(fn) -> str:
    """The growth of peak RSS (MiB, Linux /proc) while ``fn()`` runs, as the
    JSON line :func:`memory_child` reads."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # reset the peak-RSS mark
    before = _status_kib('VmRSS')
    fn()
    return json.dumps({'mib': (_status_kib('VmHWM') - before) / 1024})


def peak_memory(case: str, variant: str) -> float:
    """Peak RSS growth (MiB) of one fwd+bwd, measured in a fresh process."""
    return memory_child(__file__, '--case', case, '--memory-of', variant)


def measure_memory(case: str, variant: str) -> None:
    shape, grid = parse_case(case)
    model = build(variant, shape[1], grid)
    x = variant_input(variant, torch.randn(shape))
    grad = torch.randn(shape)  # made before the peak-RSS mark
    fwd_bwd(model, x[:1], grad[:1])  # warm up kernels at a tiny batch
    model.zero_grad(set_to_none=True)
    print(rss_growth(lambda: fwd_bwd(model, x, grad)))


def check_equal(shape, grid) -> float:
    nc = build('nc', shape[1], grid)
    naive = NaiveNC(nc)
    x = torch.randn(min(shape[0], 8), *shape[1:], requires_grad=True)
    out, ref = nc(x), naive(x)
    g, = torch.autograd.grad(out.square().mean(), x)
    g_ref, = torch.autograd.grad(ref.square().mean(), x)
    return max((out - ref).abs().max().item(),
               (g - g_ref).abs().max().item())


def variant_input(variant: str, x: torch.Tensor) -> torch.Tensor:
    """The input of a variant for a case's block input ``x``."""
    return x[:, :x.shape[1] // 4].contiguous() if variant == 'conv' else x


def matmul_peak(repeat: int, n: int = 2048) -> float:
    """This machine's float32 matmul GFLOP/s (2n^3 FLOPs a ``torch.mm``)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    t = _interleaved(dict(mm=lambda: torch.mm(a, b)), repeat)['mm']
    return 2 * n**3 / t / 1e9


def run_case(case: str, repeat: int) -> dict:
    shape, grid = parse_case(case)
    x, grad = torch.randn(shape), torch.randn(shape)
    models = {v: build(v, shape[1], grid) for v in VARIANTS}
    inputs = {v: variant_input(v, x) for v in VARIANTS}
    times = {v: [] for v in VARIANTS}
    for v, model in models.items():
        fwd_bwd(model, inputs[v], grad)  # warm-up
    for _ in range(repeat):  # interleaved, so load hits every variant alike
        for v, model in models.items():
            t0 = time.perf_counter()
            fwd_bwd(model, inputs[v], grad)
            times[v].append(time.perf_counter() - t0)
    rows = {}
    for v in VARIANTS:
        rows[v] = dict(
            seconds=statistics.median(times[v]),
            mib=peak_memory(case, v),
            gflops=flops(models[v], inputs[v]) / 1e9)
    rows['max_abs_diff'] = check_equal(shape, grid)
    return rows


def _interleaved(fns: dict, repeat: int) -> dict:
    times = {n: [] for n in fns}
    for f in fns.values():
        f()  # warm-up
    for _ in range(repeat):
        for n, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[n].append(time.perf_counter() - t0)
    return {n: statistics.median(t) for n, t in times.items()}


def block_keys(batch: int, channels: int, k: int) -> torch.Tensor:
    """The keys an NCBlock(2048, grid=7) with random weights makes for
    random input, ``[batch, channels]`` (groups of ``channels``)."""
    block = build('nc', 4 * channels, 7)
    x = torch.randn(-(-batch // 4), 4 * channels, 7, 7)
    with torch.no_grad():
        w_in, _ = block._folded_io(7, 7)
        hid = block.encoder[1](torch.nn.functional.linear(
            x.reshape(-1, 49), w_in, block.encoder[0].bias))
        enc_out = block.encoder[2]
        m = torch.nn.functional.linear(
            hid, enc_out.weight.mean(0, keepdim=True),
            enc_out.bias.mean(0, keepdim=True))
    return m.view(-1, channels)[:batch]


def run_message(case: str, repeat: int) -> None:
    """Message fwd+bwd: exact path vs fast Gauss transform."""
    b, c, k = (int(t) for t in case.split('x'))
    torch.manual_seed(0)
    v = torch.randn(b, c, k)
    cases = {'random-NCBlock': block_keys(b, c, k)}
    for spread in (0.1, 1.0, 3.0, 10.0):
        cases[f'uniform {spread:g}'] = (torch.rand(b, c) - 0.5) * spread
    print(f'\n### message {case} (BxCxk), fwd+bwd, median of {repeat}\n')
    print('| keys | spread | plan (boxes x terms) | exact (s) | transform (s) '
          '| exact / transform |')
    print('|---|---:|---|---:|---:|---:|')
    for name, m in cases.items():
        vr, mr = v.clone().requires_grad_(), m.clone().requires_grad_()

        def exact(vr=vr, mr=mr):
            with nc_block.exact_message():
                nc_block.nc_message(vr, mr).sum().backward()

        def fast(vr=vr, mr=mr):
            nc_block.nc_message(vr, mr).sum().backward()

        sp = float((m.amax(-1) - m.amin(-1)).max())
        pl = plan(sp, c, m.dtype)
        t = _interleaved(dict(exact=exact, fast=fast), repeat)
        label = f'{pl.boxes} x {pl.terms}' if pl else 'exact'
        print(f'| {name.split()[0]} | {sp:.3g} | {label} | {t["exact"]:.4f} | '
              f'{t["fast"]:.4f} | {t["exact"] / t["fast"]:.1f}x |')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--case', action='append',
                        help='NxCxHxW:grid (repeatable); default: '
                        + ', '.join(DEFAULT_CASES))
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument(
        '--threads', type=int, help='torch threads (default: torch\'s); '
        '1 keeps a loaded machine from stalling multi-threaded ops')
    parser.add_argument('--message', action='append',
                        help='BxCxk: time the message alone (repeatable)')
    parser.add_argument('--memory-of', help=argparse.SUPPRESS)
    args = parser.parse_args()
    cases = args.case or ([] if args.message else list(DEFAULT_CASES))
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_of:
        measure_memory(cases[0], args.memory_of)
        return
    peak = matmul_peak(args.repeat)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads; '
          f'fwd+bwd, median of {args.repeat}; float32 matmul peak '
          f'{peak:.1f} GFLOP/s')
    for case in args.message or []:
        run_message(case, args.repeat)
    for case in cases:
        rows = run_case(case, args.repeat)
        nc, naive = rows['nc'], rows['nc_naive']
        print(f'\n### {case}  (NxCxHxW:grid)\n')
        print('| variant | fwd+bwd (s) | peak mem (MiB) | fwd GFLOPs '
              '| GFLOP/s | of peak |')
        print('|---|---:|---:|---:|---:|---:|')
        for v in VARIANTS:
            r = rows[v]
            rate = 2 * 3 * r['gflops'] / r['seconds']  # FLOPs, not MACs
            print(f'| {v} | {r["seconds"]:.4f} | {r["mib"]:.1f} | '
                  f'{r["gflops"]:.3f} | {rate:.1f} | {rate / peak:.0%} |')
        exact, se = rows['nc_exact'], rows['se']
        print(f'\nNC vs naive: {naive["seconds"] / nc["seconds"]:.1f}x '
              f'faster, memory {nc["mib"] / max(naive["mib"], 1e-9):.3f}x; '
              f'NC vs NC exact: {exact["seconds"] / nc["seconds"]:.2f}x '
              f'faster; NC / SE: {nc["seconds"] / se["seconds"]:.2f} '
              f'(old NC / SE: '
              f'{rows["nc_old"]["seconds"] / se["seconds"]:.2f}); '
              f'max |diff| of output and input grad: '
              f'{rows["max_abs_diff"]:.2e}')


if __name__ == '__main__':
    main()
