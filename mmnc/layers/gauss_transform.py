"""NC's channel message as a fast Gauss transform (exact to a stated bound).

``out[j] = sum_i w_ij v_i / sum_i w_ij`` with ``w_ij = exp(-(m_i - m_j)^2)``
and scalar keys ``m``: the weights are a 1-D Gaussian kernel, which has low
numerical rank over a bounded range of keys. Greengard & Strain, *The fast
Gauss transform*, SIAM J. Sci. Stat. Comput. 12 (1991), expand it in boxes
of the key axis; this module does the same with Chebyshev interpolation in
each box (the box-to-box form of Fong & Darve, *The black-box fast
multipole method*, J. Comput. Phys. 228 (2009)), which needs fewer terms
for one bound than the Hermite series and gives the keys' gradient kernel
from the same expansion.

**The algorithm** (per sample, batched over samples with per-sample boxes).
The keys' range ``[lo, hi]`` is cut into ``nb`` equal boxes of width
``h <= H`` (``H`` chosen per call); in each box ``p`` Chebyshev nodes
``tau``. With ``l_k`` the Lagrange polynomials of a key's box,

``w(t, s) ~ sum_{k, l} l_k(t) exp(-(tau_k - tau_l)^2) l_l(s)``,

so ``W ~ U K U^T`` with ``U`` the ``C x nb p`` interpolation matrix (``p``
non-zeros a row) and ``K`` the ``nb p x nb p`` kernel of the nodes: the
message costs ``2 C R (k + 1) + R^2 (k + 1)`` multiply-adds for ``R = nb p``
instead of ``C^2 (k + 1)`` and ``C^2`` exponentials. The keys' gradient
needs ``d(t, s) = (s - t) w(t, s)``, interpolated the same way (``K``
replaced by ``(tau_l - tau_k) K``): no cancellation, no derivative of an
interpolant.

**The error bound.** For ``f(x) = exp(-(x - s)^2)`` on an interval of
half-width ``rho``, interpolation at ``p`` Chebyshev nodes errs by at most
``rho^p / (2^(p-1) p!) max|f^(p)|``, and Cramer's inequality
``|f^(p)| = |H_p| exp(-x^2) <= 1.0865 2^(p/2) sqrt(p!)`` gives

``e(p, rho) = 2.173 (rho / sqrt 2)^p / sqrt(p!)``

(``sqrt((p + 1) / 2)`` times that for ``d``). Interpolating in both
arguments multiplies by ``1 + Lambda_p`` (Lebesgue constant ``Lambda_p <=
1 + (2 / pi) ln p``). Node weights below ``delta`` are dropped (set to 0:
no denormals) at a further ``Lambda_p^2 delta``. Every weight is then
within ``E = (1 + Lambda_p) e sqrt((p + 1) / 2) + Lambda_p^2 delta`` of its
exact value, and since the self weight is 1 (``Z_j >= 1``),

``|out_j - exact_j| <= 2 C E max_i |v_i| / (1 - C E)``

(per sample and column; likewise for the gradients, with their own
operands in place of ``v``). :func:`plan` picks the smallest ``R`` with
``4 C E <= tol``, ``tol = 1e-11`` in float64 and ``1e-7`` in float32, among
box widths ``H = spread / nb``; ``delta = tol / (8 C Lambda_p^2)``. Float32
inputs are computed in float32 (rounding adds about ``u sqrt(C)``, ``u =
2^-24``; measured within ``2e-6`` of float64, ``tests/test_gauss_transform
.py``).

**When it runs** (the cost model): when ``R <= C / 4`` and ``C >= 32``;
otherwise, e.g. for keys so spread that ``R`` approaches ``C``, the exact
path. At ``C = 512`` the transform measured 5-18x faster than the exact path
for ``R`` from 7 to 74 (``tools/analysis/benchmark_nc.py --message``); the
boundaries themselves are not tuned (below 32 keys both take microseconds).
"""
import math
from dataclasses import dataclass
from functools import lru_cache

import torch

_CRAMER = 1.0865  # |H_n(x)| exp(-x^2 / 2) <= 1.0865 2^(n/2) sqrt(n!)
TOLERANCE = {torch.float64: 1e-11, torch.float32: 1e-7}
"""Bound on the transform's error relative to ``max|v|`` per dtype."""
MAX_TERMS = 48
MIN_CHANNELS = 32
RANK_FRACTION = 4
"""The transform runs when ``nb * p <= C / RANK_FRACTION``."""
_BACKWARD_ELEMENTS = 1 << 19
"""Bound on backward's largest temporary ([b, 3 (k + 1), C], 2 MiB fp32):
backward runs a chunk of samples at a time, as a training step's memory
peaks in backward (whole, the temporary takes 22 MiB for a C4 RoI head's
512 samples of 512 channels; the demo's size is one chunk)."""


def _backward_step(rows: int, channels: int) -> int:
    """Samples a chunk of backward: its temporary is [b, 3 rows, C]."""
    return max(1, _BACKWARD_ELEMENTS // (3 * rows * channels))


@dataclass(frozen=True)
class Plan:
    """Boxes and terms of one call: ``boxes`` boxes of width at most
    ``width``, ``terms`` Chebyshev nodes each, node weights below ``drop``
    set to 0, for a worst-case error ``bound`` (relative to ``max|v|``)."""
    boxes: int
    width: float
    terms: int
    drop: float
    bound: float

    @property
    def rank(self) -> int:
        return self.boxes * self.terms


def _lebesgue(p: int) -> float:
    return 1 + 2 / math.pi * math.log(p) if p > 1 else 1.0


def kernel_error(p: int, rho: float) -> float:
    """``(1 + Lambda_p) e(p, rho) sqrt((p + 1) / 2)``: bound on the
    interpolated weight's (and key-gradient kernel's) error, ``p`` nodes in
    boxes of half-width ``rho``."""
    if rho <= 0:
        return 0.0
    log_e = (math.log(2 * _CRAMER) + p * math.log(rho / math.sqrt(2))
             - 0.5 * math.lgamma(p + 1))
    return (1 + _lebesgue(p)) * math.exp(log_e) * math.sqrt((p + 1) / 2)


@lru_cache(maxsize=4096)
def _plan(spread: float, channels: int, tol: float) -> Plan | None:
    budget = tol / (4 * channels)  # 4 C E <= tol
    best = None
    max_boxes = max(1, channels // (RANK_FRACTION * 2))
    boxes = 1
    while boxes <= max_boxes:
        width = spread / boxes
        for p in range(1, MAX_TERMS + 1):
            lam = _lebesgue(p)
            drop = budget / (2 * lam**2)
            err = kernel_error(p, width / 2)
            if err <= budget / 2:
                break
        else:
            boxes *= 2
            continue
        if best is None or boxes * p < best.rank:
            best = Plan(boxes, width, p, drop,
                        4 * channels * (err + lam**2 * drop))
        if p <= 2:
            break
        boxes *= 2
    if best is None or channels < MIN_CHANNELS or \
            best.rank * RANK_FRACTION > channels:
        return None
    return best


def plan(spread: float, channels: int,
         dtype: torch.dtype) -> Plan | None:
    """The cheapest :class:`Plan` for keys spread over ``spread`` (the
    largest ``max - min`` of a sample) and ``channels`` keys a sample, or
    ``None`` when the exact path is cheaper (see the module's cost model)."""
    tol = TOLERANCE.get(dtype)
    if tol is None or not math.isfinite(spread):
        return None
    # round the spread up to 2 significant digits: fewer distinct plans
    if spread > 0:
        scale = 10**(math.floor(math.log10(spread)) - 1)
        spread = math.ceil(spread / scale) * scale
    return _plan(spread, channels, tol)


@lru_cache(maxsize=64)
def _constants(p: int, boxes: int, device: str):
    """float64: the map ``M`` from Chebyshev to Lagrange values in a box
    (``l_k(x) = sum_n T_n(x) M[n, k]`` at the nodes ``xi_k``) and the node
    offsets ``off_r - off_s`` in box widths ([R, R])."""
    k = torch.arange(p, dtype=torch.float64)
    xi = torch.cos((2 * k + 1) * math.pi / (2 * p))
    mat = torch.cos(k[:, None] * torch.acos(xi)[None, :]) * (2.0 / p)
    mat[0] /= 2
    off = (torch.arange(boxes, dtype=torch.float64)[:, None] + 0.5
           + xi[None, :] / 2).reshape(-1)
    return mat.to(device), (off[:, None] - off[None, :]).to(device)


def _chebyshev(x: torch.Tensor, p: int) -> torch.Tensor:
    """``T_n(x)`` for ``n < p``: [p, *x.shape], by the three-term
    recurrence (stable on [-1, 1]: errs by at most ``n`` ulps)."""
    t = x.new_empty(p, *x.shape)
    t[0] = 1
    if p > 1:
        t[1] = x
        x2 = 2 * x
        for n in range(1, p - 1):
            torch.mul(x2, t[n], out=t[n + 1]).sub_(t[n - 1])
    return t


class _Geometry:
    """The boxes of one call: ``ut`` ([B, R, C]: row ``(box, n)`` holds
    ``T_n`` of the keys in that box, 0 elsewhere), the node kernel ``kern``
    and ``dkern = (tau_r - tau_s) kern`` ([B, R, R]) and the Chebyshev-to-
    Lagrange map ``mat`` (applied to the narrow node-side operands, not to
    ``ut``). The box coordinates are made in float64 and rounded once to the
    keys' dtype, the ``T_n`` by the recurrence in that dtype."""

    def __init__(self, ut: torch.Tensor, kern: torch.Tensor,
                 dkern: torch.Tensor, pl: Plan):
        self.ut, self.kern, self.dkern = ut, kern, dkern
        self.p, self.nb = pl.terms, pl.boxes
        self.mat = _constants(self.p, self.nb, str(ut.device))[0].to(ut.dtype)

    @classmethod
    def of(cls, m: torch.Tensor, pl: Plan) -> '_Geometry':
        p, nb = pl.terms, pl.boxes
        dtype = m.dtype
        m = m.double()
        diff = _constants(p, nb, str(m.device))[1]
        lo = m.amin(-1, keepdim=True)
        spread = m.amax(-1, keepdim=True) - lo  # [B, 1]
        # any width <= pl.width keeps the bound; a floor for equal keys
        h = spread.clamp(min=pl.width * 1e-3 if pl.width > 0 else 1e-3) / nb
        rel = (m - lo) / h  # [B, C] in [0, nb]
        box = rel.floor().clamp_(0, nb - 1)
        x = (rel - box).mul_(2).sub_(1).clamp_(-1, 1)
        ut = _chebyshev(x.to(dtype), p).transpose(0, 1)  # [B, p, C]
        if nb > 1:
            onehot = box.unsqueeze(1) == torch.arange(
                nb, device=m.device, dtype=m.dtype)[:, None]  # [B, nb, C]
            ut = (onehot.unsqueeze(2) * ut.unsqueeze(1)).flatten(1, 2)
        d = diff * h.unsqueeze(-1)  # [B, R, R]: tau_r - tau_s
        kern = torch.nn.functional.threshold_(
            d.square().neg_().exp_(), pl.drop, 0.0)
        return cls(ut, kern.to(dtype), (d * kern).to(dtype), pl)

    def tensors(self) -> tuple:
        return self.ut, self.kern, self.dkern

    def _boxwise(self, x: torch.Tensor, mat: torch.Tensor) -> torch.Tensor:
        b, w, r = x.shape
        return torch.matmul(x.view(b, w, self.nb, self.p), mat).view(b, w, r)

    def moments(self, rows: torch.Tensor) -> torch.Tensor:
        """Node coefficients of sources given as rows ([B, w, C] -> [B, w,
        R]): ``(U_L^T q)^T``."""
        return self._boxwise(torch.bmm(rows, self.ut.transpose(1, 2)),
                             self.mat)

    def evaluate(self, rows: torch.Tensor) -> torch.Tensor:
        """Values at the keys from node values ([B, w, R] -> [B, w, C])."""
        return torch.bmm(self._boxwise(rows, self.mat.t()), self.ut)


class GaussMessage(torch.autograd.Function):
    """``out[j] = sum_i softmax_i(-(m_i - m_j)^2) v[i]`` by the fast Gauss
    transform of ``plan`` (see the module): ``v`` [B, C, k], ``m`` [B, C]
    (float32 or float64). Rows layout inside (``[B, k + 1, C]``), as
    :class:`~mmnc.layers.nc_block._NCMessage`: narrow products are faster
    that way round."""

    @staticmethod
    def forward(ctx, v: torch.Tensor, m: torch.Tensor,
                pl: Plan) -> torch.Tensor:
        m = m - m.mean(-1, keepdim=True)
        geo = _Geometry.of(m, pl)
        b, c, k = v.shape
        v1 = v.new_empty(b, k + 1, c)
        v1[:, :k] = v.transpose(1, 2)
        v1[:, k] = 1
        xq = geo.moments(v1)  # [B, k + 1, R]
        acc = geo.evaluate(torch.bmm(xq, geo.kern))  # [B, k + 1, C]
        acc[:, :k] /= acc[:, k:]  # [out ; Z]: Z the softmax normalisers
        # the geometry (ut: [B, R, C]) is kept for backward where that runs
        # one chunk and it is small (_BACKWARD_ELEMENTS: rebuilding it
        # costs more than the message's products at the demo's size);
        # otherwise rebuilt there, a chunk at a time
        keep = (b <= _backward_step(k + 1, c)
                and geo.ut.numel() <= _BACKWARD_ELEMENTS)
        ctx.pl = pl
        ctx.save_for_backward(v1, m, xq, acc,
                              *(geo.tensors() if keep else ()))
        return acc[:, :k].transpose(1, 2)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        v1, m, xq, acc, *kept = ctx.saved_tensors
        (b, k1, c), k = v1.shape, v1.size(1) - 1
        grad_v, grad_m = grad.new_empty(b, c, k), acc.new_empty(b, c)
        step = _backward_step(k1, c)
        for s in (slice(i, i + step) for i in range(0, b, step)):
            geo = (_Geometry(*kept, ctx.pl) if kept
                   else _Geometry.of(m[s], ctx.pl))
            out, z = acc[s, :k], acc[s, k:]
            gz = grad[s].transpose(1, 2) / z  # [b, k, C]
            # d loss / d N_j = a_j = [g_j / Z_j ; -g_j . out_j / Z_j]
            a = torch.cat([gz, -(out * gz).sum(1, keepdim=True)], dim=1)
            xa = geo.moments(a)
            # values' gradient W a; keys' gradient 2 (v1 . D a + a . D v1),
            # D x_j = sum_i (m_i - m_j) w_ij x_i (target j): rows x^T dkern
            nodes = torch.cat([torch.bmm(xa, geo.kern),
                               torch.bmm(xa, geo.dkern),
                               torch.bmm(xq[s], geo.dkern)], dim=1)
            ga, da, dq = geo.evaluate(nodes).split(k1, dim=1)
            grad_v[s] = ga[:, :-1].transpose(1, 2)
            torch.add((v1[s] * da).sum(1), (a * dq).sum(1), out=grad_m[s])
        grad_m = grad_m.mul_(2)
        return grad_v, grad_m.sub_(grad_m.mean(-1, keepdim=True)), None
