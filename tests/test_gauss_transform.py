"""NC's message by the fast Gauss transform against the plain float64 form:
outputs and both gradients, adversarial keys, both paths of the cost
model."""
import math

import pytest
import torch

import mmnc  # noqa: F401
from mmnc.layers import nc_block
from mmnc.layers.gauss_transform import GaussMessage, kernel_error, plan

pytestmark = pytest.mark.classic

TOL = {torch.float64: 1e-9, torch.float32: 2e-6}


def plain(v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """``softmax_i(-(m_i - m_j)^2)`` as a ``C x C`` matrix, float64."""
    score = -(m.unsqueeze(2) - m.unsqueeze(1))**2  # [B, j, i]
    return torch.softmax(score, dim=2) @ v


def keys(kind: str, b: int, c: int, gen: torch.Generator) -> torch.Tensor:
    """[b, c] float64 keys of one adversarial kind."""
    def rand(*shape):
        return torch.rand(*shape, generator=gen, dtype=torch.float64)

    if kind.startswith('spread'):
        return (rand(b, c) - 0.5) * float(kind[6:]) + 3.0
    if kind.endswith('clusters'):  # tight clusters far apart
        centre = [-40.0, 0.0, 0.5, 25.0] if kind == 'far-clusters' else [
            -2.5, 0.0, 0.4, 3.0]
        centre = torch.tensor(centre, dtype=torch.float64)
        pick = torch.randint(0, 4, (b, c), generator=gen)
        return centre[pick] + 1e-3 * rand(b, c)
    if kind == 'duplicates':
        pick = torch.randint(0, 5, (b, c), generator=gen)
        return pick.double() * 0.3
    if kind == 'outlier':
        m = rand(b, c) * 0.5
        m[:, c // 2] = 30.0
        return m
    if kind == 'equal':
        return torch.full((b, c), -7.25, dtype=torch.float64)
    if kind == 'normal':
        return torch.randn(b, c, generator=gen, dtype=torch.float64)
    if kind == 'mixed':  # one batch, each sample its own spread
        scale = 10.0**torch.linspace(-4, 0.5, b, dtype=torch.float64)
        return (rand(b, c) - 0.5) * scale[:, None]
    raise ValueError(kind)


def values(b: int, c: int, k: int, gen: torch.Generator) -> torch.Tensor:
    """Values of mixed scale: channels and columns from 1e-3 to 1e3."""
    v = torch.randn(b, c, k, generator=gen, dtype=torch.float64)
    return v * 10.0**(6 * torch.rand(b, c, k, generator=gen,
                                     dtype=torch.float64) - 3)


def grads(fn, v, m, g):
    v = v.detach().requires_grad_()
    m = m.detach().requires_grad_()
    out = fn(v, m)
    gv, gm = torch.autograd.grad(out, (v, m), g.to(out.dtype))
    return out, gv, gm


def check(v, m, dtype, expect_fast=None):
    """nc_message in ``dtype`` against :func:`plain` in float64, errors
    relative to the stated scales: outputs to ``max|v|``, the values'
    gradient to ``max|g|``, the keys' to ``max(1, max|v|) max|g|`` (per
    sample and column)."""
    b, c, k = v.shape
    gen = torch.Generator().manual_seed(1)
    g = torch.randn(b, c, k, generator=gen, dtype=torch.float64)
    spread = float((m.amax(-1) - m.amin(-1)).max())
    fast = plan(spread, c, dtype) is not None
    if expect_fast is not None:
        assert fast == expect_fast, (spread, c, dtype)
    out, gv, gm = grads(nc_block.nc_message, v.to(dtype), m.to(dtype), g)
    # the reference sees the keys and values rounded to dtype
    ref, rgv, rgm = grads(plain, v.to(dtype).double(), m.to(dtype).double(),
                          g)
    tol = TOL[dtype]
    vmax = v.abs().amax(1, keepdim=True)
    gmax = g.abs().amax(1, keepdim=True)
    errs = {
        'out': ((out.double() - ref).abs().amax(1, keepdim=True) / vmax),
        'grad_v': (gv.double() - rgv).abs().amax(1, keepdim=True) / gmax,
        'grad_m': (gm.double() - rgm).abs().amax(1) /
        (vmax.amax(-1).clamp(min=1) * gmax.amax(-1)).squeeze(-1),
    }
    worst = {n: e.max().item() for n, e in errs.items()}
    assert max(worst.values()) <= tol, (worst, 'fast' if fast else 'exact')
    return fast


KINDS = ['spread1e-4', 'spread0.1', 'spread1', 'spread3', 'spread10',
         'spread100', 'clusters', 'far-clusters', 'duplicates', 'outlier',
         'equal', 'normal', 'mixed']


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('kind', KINDS)
def test_matches_plain_form(kind, dtype):
    gen = torch.Generator().manual_seed(0)
    paths = set()
    for c in (1, 2, 31, 64, 127, 512):
        b = 3
        m = keys(kind, b, c, gen)
        paths.add(check(values(b, c, 6, gen), m, dtype))
    if kind in ('spread1e-4', 'spread0.1', 'equal', 'duplicates'):
        assert True in paths  # the transform ran for the larger C


@pytest.mark.parametrize('kind,c', [('normal', 4096), ('spread10', 4096),
                                    ('clusters', 1031), ('outlier', 2053),
                                    ('far-clusters', 4096)])
@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
def test_large_groups(kind, c, dtype):
    gen = torch.Generator().manual_seed(0)
    assert check(values(1, c, 3, gen), keys(kind, 1, c, gen), dtype,
                 expect_fast=True)


def test_several_boxes_and_groups():
    """Wide spreads take several boxes; samples keep their own boxes."""
    gen = torch.Generator().manual_seed(0)
    m = keys('spread30', 2, 4096, gen)
    pl = plan(float((m.amax(-1) - m.amin(-1)).max()), 4096, torch.float64)
    assert pl is not None and pl.boxes > 1
    check(values(2, 4096, 2, gen), m, torch.float64, expect_fast=True)


def test_gradcheck():
    gen = torch.Generator().manual_seed(0)
    v = values(3, 40, 4, gen).requires_grad_()
    m = (keys('spread0.1', 3, 40, gen)).requires_grad_()
    pl = plan(0.1, 40, torch.float64)
    assert pl is not None
    assert torch.autograd.gradcheck(
        lambda v, m: GaussMessage.apply(v, m, pl), (v, m))


def test_backward_across_sample_chunks(monkeypatch):
    """Backward runs a chunk of samples at a time: 7 samples in chunks of
    3, 3 and 1, each with its own boxes, against the plain float64 form."""
    from mmnc.layers import gauss_transform
    c, k = 256, 3
    monkeypatch.setattr(gauss_transform, '_BACKWARD_ELEMENTS',
                        3 * 3 * (k + 1) * c)
    gen = torch.Generator().manual_seed(0)
    m = keys('spread3', 7, c, gen) * torch.linspace(0.2, 1, 7)[:, None]
    check(values(7, c, k, gen), m, torch.float64, expect_fast=True)


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
def test_deterministic(dtype):
    gen = torch.Generator().manual_seed(0)
    v = values(4, 512, 6, gen).to(dtype)
    m = keys('normal', 4, 512, gen).to(dtype)
    g = torch.randn(v.shape, generator=gen, dtype=torch.float64)
    first = grads(nc_block.nc_message, v, m, g)
    again = grads(nc_block.nc_message, v, m, g)
    assert all(torch.equal(a, b) for a, b in zip(first, again))


def test_no_denormals():
    """Keys 9 apart: exact weights exp(-81) are denormal in float32; the
    message and its gradients stay out of that range on both paths."""
    tiny = torch.finfo(torch.float32).tiny
    for c in (8, 512):
        m = torch.zeros(2, c)
        m[:, c // 2:] = 9.0
        m[:, ::7] += 0.05
        v = torch.rand(2, c, 6) + 0.5
        g = torch.rand(2, c, 6) + 0.5
        for t in grads(nc_block.nc_message, v, m, g):
            assert not ((t != 0) & (t.abs() < tiny)).any()


def test_bound_is_monotone_and_plan_meets_it():
    assert kernel_error(10, 0.5) < kernel_error(10, 1.0)
    assert kernel_error(12, 0.5) < kernel_error(10, 0.5)
    for spread in (0.0, 1e-3, 0.5, 2.0, 7.0):
        pl = plan(spread, 512, torch.float64)
        assert pl is not None and pl.bound <= 1e-11
        assert pl.rank * 4 <= 512
    assert plan(100.0, 512, torch.float32) is None  # too spread: exact
    assert plan(1.0, 8, torch.float32) is None  # tiny C: exact
    assert plan(math.nan, 512, torch.float32) is None
    assert plan(1.0, 512, torch.bfloat16) is None
