"""Cross-channel communication (NC / C3) block.

Yang et al., *Cross-channel Communication Networks*, NeurIPS 2019,
https://papers.nips.cc/paper/8411-cross-channel-communication-networks
Official code: https://github.com/jwyang/C3Net.pytorch
(``lib/layers/cross_neuron_distributed.py``).
"""
import contextlib
import sys
from typing import Callable, Iterator, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch.utils.checkpoint import checkpoint

from .debug import DEBUG, check_finite, note_path
from .gauss_transform import TOLERANCE, GaussMessage, plan

_RESIZE_MODES = ('nearest', 'bilinear', 'area')


def _resize(x: torch.Tensor, size: Sequence[int], mode: str) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    align = False if mode == 'bilinear' else None
    return F.interpolate(x, size=tuple(size), mode=mode, align_corners=align)


def _resize_matrix(size_in: int, size_out: int, mode: str,
                   like: torch.Tensor) -> torch.Tensor:
    """``[size_out, size_in]``: the 1-D ``mode`` resize as a matrix."""
    # built in float64 for float64 weights, else in float32 (torch 2.1 has
    # no bf16 eye/interpolate on CPU)
    dtype = torch.float64 if like.dtype == torch.float64 else torch.float32
    eye = torch.eye(size_in, dtype=dtype, device=like.device)
    out = _resize(eye.view(size_in, 1, size_in, 1), (size_out, 1), mode)
    return out.view(size_in, size_out).t().to(like.dtype)


# Bound on the elements of the [b, C, C] weights the training path makes at
# once, per device type. CPU: 16 MiB fp32 (16 samples of 512 channels; 1 to
# 64 samples measured equally fast on a 2-core CPU, so the bound only caps
# memory). CUDA (not measured: no GPU was at hand): each chunk costs about 6
# kernel launches of a few microseconds, and at 16 samples a launch does only
# ~60 MFLOP, so chunks are 16x larger there (256 MiB fp32 at most, 256
# samples of 512 channels: a C4 RoI head's 512 RoIs x 4 groups in 8 steps);
# ``tools/analysis/gpu_check.py`` times it. Other devices take the CPU bound.
_CHUNK_ELEMENTS = {'cpu': 1 << 22, 'cuda': 1 << 26}


def _chunks(batch: int, channels: int, device: torch.device):
    bound = _CHUNK_ELEMENTS.get(device.type, _CHUNK_ELEMENTS['cpu'])
    step = max(1, bound // (channels * channels))
    for b in range(0, batch, step):
        yield slice(b, min(b + step, batch))


def _autocast_probe() -> Callable[[str], bool]:
    """``is_autocast_enabled(device_type)``; torch < 2.4 has no argument and
    one function per device type."""
    try:
        torch.is_autocast_enabled('cpu')
        return torch.is_autocast_enabled
    except TypeError:
        return lambda device_type: (
            torch.is_autocast_cpu_enabled() if device_type == 'cpu' else
            device_type == 'cuda' and torch.is_autocast_enabled())


_autocast_enabled = _autocast_probe()


def _is_compiling() -> bool:
    compiling = getattr(torch.compiler, 'is_compiling', None)  # torch >= 2.3
    if compiling is not None:
        return compiling()
    dynamo = sys.modules.get('torch._dynamo')  # not imported: not compiling
    return dynamo is not None and dynamo.is_compiling()


def recording_graph() -> bool:
    """Whether a graph of standard ops is being recorded: ``torch.jit.trace``
    (which the TorchScript ONNX exporter, mmdeploy and mmengine's FLOP counter
    use), ``torch.onnx.export``, ``torch.export`` and ``torch.compile``."""
    return (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
            or _is_compiling())


def _kernel(m: torch.Tensor) -> torch.Tensor:
    """``w[b, j, i] = exp(-(m_i - m_j)^2)``, in place on one buffer.

    ``w / w.sum(-1)`` is the softmax over ``i``; its largest logit is the
    ``i = j`` one (0), so no max-subtraction is needed and row sums are
    >= 1. Logits below -80 are clamped there (``exp`` of denormals is many
    times slower on CPUs), and weights at or below the unit roundoff ``u``
    of the dtype (``2^-24`` in float32) are set to 0: each moves a row sum
    by less than its rounding, and products of such weights with gradients
    would otherwise reach the denormal range.
    """
    d = m.unsqueeze(2) - m.unsqueeze(1)  # [b, C(j), C(i)]
    return _weights(d.square_())


def _weights(d2: torch.Tensor) -> torch.Tensor:
    """``exp(-d2)`` in place, as :func:`_kernel` says."""
    w = d2.clamp_(max=80).neg_().exp_()
    return F.threshold_(w, torch.finfo(w.dtype).eps / 2, 0.0)


def _append(x: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
    """``[x | col]`` along the last dim: [B, C, S] + [B, C, 1]."""
    return torch.cat([x, col.expand(*x.shape[:-1], 1)], dim=-1)


class _NCMessage(torch.autograd.Function):
    """``out[j] = sum_i softmax_i(-(m_i - m_j)^2) v[i]``, exact and lean.

    The ``C x C`` weights ``w[j, i] = exp(-(m_i - m_j)^2)`` are a Gaussian
    kernel of the channel keys ``m``, cheap to rebuild: they are made for a
    few samples at a time, never stored, and rebuilt in backward. They are
    symmetric, so the values' gradient is one product ``a W``; the keys'
    gradient takes one product ``[a; v] D`` with the slope kernel ``D_ij =
    (m_i - m_j) w_ij``, without forming the ``C x C`` logit gradient. The
    softmax's normaliser rides along as a row of ones. Matmul work is ``4 B
    C^2 (k + 1)`` multiply-adds for ``k``-wide values. Used where the fast
    Gauss transform (:mod:`.gauss_transform`) is not cheaper.
    """

    @staticmethod
    def forward(ctx, v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        # v: [B, C, k] values, m: [B, C] keys. Softmax over i is invariant
        # to shifting m; centred keys keep backward's products small.
        m = m - m.mean(-1, keepdim=True)
        # Rows, not columns: v^T W is several times faster than W v for
        # narrow v (MKL), and equal since W is symmetric.
        v1 = _append(v, v.new_ones(())).transpose(1, 2)  # [B, k + 1, C]
        acc = torch.empty_like(v1, memory_format=torch.contiguous_format)
        for b in _chunks(v.size(0), v.size(1), v.device):
            torch.bmm(v1[b], _kernel(m[b]), out=acc[b])  # [v W ; 1 W]
        acc[:, :-1] /= acc[:, -1:]  # [out ; Z]: Z the softmax normalisers
        ctx.save_for_backward(v1, m, acc)
        return acc[:, :-1].transpose(1, 2)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        device = grad.device.type
        if _autocast_enabled(device):  # backward called in an autocast region
            with torch.autocast(device, enabled=False):
                return _NCMessage.backward(ctx, grad.float())
        v1, m, acc = ctx.saved_tensors  # [B, k + 1, C], [B, C], [B, k + 1, C]
        out, z = acc[:, :-1], acc[:, -1:]
        gz = grad.transpose(1, 2) / z  # g_j / Z_j
        # d loss / d logit_ji = w_ji a_j . v1_i; a_j = [g_j / Z_j ;
        # -g_j . out_j / Z_j]
        a = torch.cat([gz, -(out * gz).sum(1, keepdim=True)], dim=1)
        # d logit_ji / d m_i = 2 (m_j - m_i), d logit_ji / d m_j = 2 (m_i -
        # m_j): the keys' gradient is 2 (v1 . D a + a . D v1) with the slope
        # kernel D_ij = (m_i - m_j) w_ij, built as such (the products m W x
        # - W (m x) lose the digits of |m| / spread to cancellation)
        rhs = torch.cat([a, v1], dim=1)  # [B, 2(k + 1), C]
        wa, dd = torch.empty_like(a), torch.empty_like(rhs)
        for b in _chunks(v1.size(0), v1.size(2), v1.device):
            d = m[b].unsqueeze(2) - m[b].unsqueeze(1)
            w = _weights(d.square())
            torch.bmm(a[b], w, out=wa[b])
            torch.bmm(rhs[b], d.mul_(w), out=dd[b])
        da, dv = dd.split(v1.size(1), dim=1)
        grad_m = 2 * ((v1 * da).sum(1) + (a * dv).sum(1))
        return wa[:, :-1].transpose(1, 2), grad_m


def _nc_message_graph(v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """:class:`_NCMessage`'s function in standard, differentiable ops (sub,
    pow, clamp, exp, bmm, div), for graphs that exporters and compilers
    record. The same exact form: centred keys, logits as differences (no
    ``q . k`` expansion, whose ``m^2`` terms cancel badly in low precision),
    the normaliser from a row of ones, so the FLOP counter sees the one
    ``bmm`` of ``B C^2 (k + 1)`` multiply-adds. It materialises the ``B x C x
    C`` weights at once (4 MiB per 512-channel sample in fp32)."""
    m = m - m.mean(-1, keepdim=True)  # [B, C]
    d2 = (m.unsqueeze(2) - m.unsqueeze(1)).square().clamp(max=80)
    acc = torch.bmm(torch.exp(-d2), _append(v, v.new_ones(())))  # [B, C, k+1]
    return acc[..., :-1] / acc[..., -1:]


_FAST_MESSAGE = [True]


def _on_cuda(x: torch.Tensor) -> bool:
    """Whether ``x`` lives where reading a value on the host stalls the
    device's stream (CUDA): there :func:`nc_message` decides from shapes."""
    return x.device.type == 'cuda'


@contextlib.contextmanager
def _fast_message(fast: bool) -> Iterator[None]:
    before, _FAST_MESSAGE[0] = _FAST_MESSAGE[0], fast
    try:
        yield
    finally:
        _FAST_MESSAGE[0] = before


def exact_message() -> contextlib.AbstractContextManager:
    """Within this context NC's message always takes the exact path
    (:class:`_NCMessage`), e.g. to compare it with the fast Gauss
    transform (``tools/analysis/benchmark_nc.py``)."""
    return _fast_message(False)


def nc_message(v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """The message each channel receives from the channels of its group.

    ``out[j] = sum_i a_ij * v[i]`` with ``a_ij = softmax_i(-(m_i - m_j)^2)``.

    Three implementations of one function. In eager mode, with or without
    gradients, on every device, for float32 and float64, when the cost
    model of :mod:`.gauss_transform` says so (``C >= 32`` keys a sample and
    keys not so spread that the transform's rank ``boxes x terms`` exceeds
    ``C / 4``): :class:`~.gauss_transform.GaussMessage`, the fast Gauss
    transform, within ``1e-7 x max|v|`` (float32; ``1e-11`` in float64) of
    the exact message by a stated bound. Otherwise in eager mode:
    :class:`_NCMessage`, exact, which never holds more than a chunk of the
    ``C x C`` weights (in ``no_grad`` inference of a C4 RoI head, 1000 RoIs
    x 4 groups, weights materialised at once would take 4 GiB); it is
    faster than ``F.scaled_dot_product_attention``'s CPU kernels and than
    the graph form under autograd (the timings: docs, "How NC is
    computed"). While a graph is recorded (:func:`recording_graph`):
    :func:`_nc_message_graph`, standard ops every exporter and compiler
    supports, in the exact form: the transform's plan (boxes, terms) is
    chosen in Python from the keys' values, which a recorded graph would
    freeze for every later input. (The Functions record as an opaque or
    wrong graph: the TorchScript ONNX exporter writes their ``out=``
    products as never-written buffers, so the model outputs NaN, and a
    ``torch.export``-ed program refuses gradient mode; ``torch.compile``
    specialises the chunk loop to each batch size and recompiles.)
    ``MMNC_DEBUG=1`` logs which path ran (once per distinct plan).

    On CUDA the path is decided from shapes alone, and it is the exact
    path: the transform's plan needs the keys' spread on the host, a read
    that stalls the stream once per NC block per step (the transform's
    geometry is per call, so a spread from the previous step could not
    bound this step's error), whereas the exact path's ``C x C`` products
    are a GPU's fastest kind of work. Nothing on the CUDA route reads a
    device value (``tests/test_nc_block.py`` runs it with those reads
    raising; ``tools/analysis/gpu_check.py`` runs the block under
    ``torch.cuda.set_sync_debug_mode('error')``). On the CPU the read costs
    nothing extra and the cost model chooses.

    Under autocast both compute in float32 (autocast runs ``softmax`` and
    ``exp`` in float32 too): bf16 rounds a logit ``-(m_i - m_j)^2`` by up to
    0.4% of its size, which changes its weight by as much times the logit
    (1% at -3). The result is float32; the next layer casts it back.

    Args:
        v (Tensor): Values, ``[B, C, k]`` (one row per channel).
        m (Tensor): Keys, ``[B, C]``: the mean of each channel's encoding.

    Returns:
        Tensor: The messages, ``[B, C, k]``.
    """
    device = v.device.type
    if _autocast_enabled(device):
        with torch.autocast(device, enabled=False):
            return nc_message(v.float(), m.float())
    if recording_graph():
        return _nc_message_graph(v, m)
    pl = None
    if (_FAST_MESSAGE[0] and v.numel() and not _on_cuda(v)
            and v.dtype in (torch.float32, torch.float64)):
        # a host read of the spread: cheap on the CPU, never on CUDA
        spread = float((m.amax(-1) - m.amin(-1)).max().detach())
        pl = plan(spread, m.size(-1), v.dtype)
    if pl is not None:
        if DEBUG:
            note_path(f'NC message: fast Gauss transform, C={m.size(-1)}, '
                      f'{pl.boxes} box(es) x {pl.terms} terms (rank '
                      f'{pl.rank}), {v.dtype}, error <= '
                      f'{TOLERANCE[v.dtype]:.0e} x max|v|')
        return GaussMessage.apply(v.contiguous(), m, pl)
    if DEBUG:
        why = ' (CUDA: chosen from shapes)' if _on_cuda(v) else ''
        note_path(f'NC message: exact{why}, C={m.size(-1)}, {v.dtype}')
    return _NCMessage.apply(v.contiguous(), m)


# Rows of a [rows, S] map per pass of the block's thin products on the CPU:
# about 1 MiB, a core's L2 here. The residual, the input's gradient and the
# weights' gradients each take two or three thin products over the same rows
# (inner width S // r, e.g. 6): done whole, each product streams the map
# through memory again; done a block of rows at a time, the map is read once
# and the others hit the cache (timings: docs, "How NC is computed"). Wide
# maps (DeepLab's 41x41 grid, a compute-bound 211-wide product) and devices
# other than the CPU run one block.
_ROW_BYTES = 1 << 20


# The exchange is recomputed in backward (checkpointed) from a hidden of
# this size on: below it memory is small and the recomputation's time is not
# (the demo's step, 128 KiB hiddens: timings in docs, "How NC is computed").
_RECOMPUTE_BYTES = 1 << 22


def _row_blocks(x2: torch.Tensor, inner: int) -> list:
    rows = x2.size(0)
    if x2.device.type != 'cpu' or inner > 32:
        return [slice(0, rows)]
    step = max(1, _ROW_BYTES // (x2.size(1) * x2.element_size()))
    return [slice(a, min(a + step, rows)) for a in range(0, rows, step)]


# A tall product with a narrow output (``[R, K] @ [K, N]``, N < 16) runs
# several times below the matmul rate in MKL; with ``q`` rows packed into
# one (the same memory: ``[R / q, q K]``) against the block-diagonal ``I_q
# (x) W`` it is one product of a 16-wide output, the same dot products
# summed with zeros (timings: docs, "How NC is computed"). Only for inner
# widths up to 64 (beyond, the q-fold work costs more than it saves).
_PACK_WIDTH, _PACK_INNER = 16, 64


def _thin_mm(x: torch.Tensor, wt: torch.Tensor,
             bias: torch.Tensor | None = None,
             out: torch.Tensor | None = None) -> torch.Tensor:
    """``x @ wt (+ bias)`` for ``x`` [R, K] (contiguous rows), ``wt`` [K, N],
    into ``out`` if given, with rows packed as said above on the CPU."""
    (rows, inner), width = x.shape, wt.size(1)
    q = 1
    if x.device.type == 'cpu' and 1 < width < _PACK_WIDTH:
        while width * q < _PACK_WIDTH:
            q *= 2
        if inner * q > _PACK_INNER or rows % q or not x.is_contiguous():
            q = 1
    if q == 1:
        return (torch.mm(x, wt, out=out) if bias is None
                else torch.addmm(bias, x, wt, out=out))
    # written through a view into ``out``, which is returned: not a view
    # (outputs of Functions are changed in place, see _Residual)
    out = x.new_empty(rows, width) if out is None else out
    x, wt, o = (x.view(-1, q * inner), torch.block_diag(*[wt] * q),
                out.view(-1, q * width))
    if bias is None:
        torch.mm(x, wt, out=o)
    else:
        torch.addmm(bias.repeat(q), x, wt, out=o)
    return out


class _Linear(torch.autograd.Function):
    """``F.linear(x, weight, bias)`` for a tall ``x`` [R, K], its products
    (forward and the input's gradient) by :func:`_thin_mm`."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return _thin_mm(x, weight.t(), bias)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        return (_thin_mm(grad, weight) if ctx.needs_input_grad[0] else None,
                grad.t() @ x if ctx.needs_input_grad[1] else None,
                grad.sum(0) if ctx.needs_input_grad[2] else None)


def _fused(x: torch.Tensor) -> bool:
    """Whether the block's hand-written Functions run for ``x``: in eager
    float mode, not while a graph is recorded nor under autocast."""
    return not (recording_graph() or _autocast_enabled(x.device.type))


def _linear(x: torch.Tensor, weight: torch.Tensor,
            bias: torch.Tensor) -> torch.Tensor:
    """``F.linear`` over the last dim; :class:`_Linear` where
    :func:`_fused`."""
    if not _fused(x):
        return F.linear(x, weight, bias)
    y = _Linear.apply(x.reshape(-1, x.size(-1)), weight, bias)
    return y.view(*x.shape[:-1], -1)


class _Link:
    """Carries the output's gradient from :class:`_Residual`'s backward to
    :class:`_Encode`'s (which autograd always runs later: the encoder feeds
    the residual), so that the input's gradient is made in one pass."""
    grad = None


class _Encode(torch.autograd.Function):
    """``x2 W^T + b`` for ``x2 = x`` as ``[N * C, H * W]``; its backward
    writes the input's gradient ``residual + g W`` and the weight's ``g^T
    x2`` in one pass over the rows (:func:`_row_blocks`)."""

    @staticmethod
    def forward(ctx, x, weight, bias, link: _Link):
        x2 = x.reshape(-1, weight.size(1))
        ctx.save_for_backward(x2, weight)
        ctx.link, ctx.shape = link, x.shape
        return _thin_mm(x2, weight.t(), bias)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        x2, weight = ctx.saved_tensors
        residual, ctx.link.grad = ctx.link.grad, None
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grad_x = torch.empty_like(x2) if need_x else None
        grad_w = weight.new_zeros(weight.shape) if need_w else None
        for r in _row_blocks(x2, weight.size(0)):
            if need_x:
                if residual is None:
                    torch.mm(grad[r], weight, out=grad_x[r])
                else:
                    grad_x[r].copy_(residual[r]).addmm_(grad[r], weight)
            if need_w:
                grad_w.addmm_(grad[r].t(), x2[r])
        return (grad_x.view(ctx.shape) if need_x else None, grad_w,
                grad.sum(0) if need_b else None, None)


class _Residual(torch.autograd.Function):
    """``x + z W^T + b`` ([N, C, H, W]) for ``weight = [W | b]``, written
    once into a fresh tensor, a block of rows at a time (:func:`_row_blocks`).

    The output must not be a view, as hosts change it in place (mmdet's
    Bottleneck with ``with_cp=True`` applies ``relu_`` to what its
    checkpoint returns, and autograd forbids in-place changes of a view a
    Function returns): ``addmm(x2, z, W^T).view(...)`` would be one, so the
    product is written through a view into the output it returns. The
    input's gradient goes to :class:`_Encode` through ``link``."""

    @staticmethod
    def forward(ctx, x, z, weight, link: _Link):
        out = torch.empty_like(x, memory_format=torch.contiguous_format)
        x2, out2 = x.reshape(z.size(0), -1), out.view(z.size(0), -1)
        # the bias column made contiguous: broadcast from a strided vector,
        # the add runs an element at a time (10x slower at the demo's size)
        w, b = weight[:, :-1].t(), weight[:, -1].contiguous()
        for r in _row_blocks(out2, z.size(1)):
            torch.add(x2[r], b, out=out2[r]).addmm_(z[r], w)
        ctx.save_for_backward(z, weight)
        ctx.link = link
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        z, weight = ctx.saved_tensors
        g2 = grad.reshape(z.size(0), -1)
        if ctx.needs_input_grad[0]:
            ctx.link.grad = g2
        need_z, need_w = ctx.needs_input_grad[1:3]
        grad_z = torch.empty_like(z) if need_z else None
        # accumulated as [S // r + 1, S]: z^T g is several times faster than
        # g^T z for a tall g (MKL; 21 vs 69 ms at 262144 x 49)
        grad_wt = weight.new_zeros(weight.t().shape) if need_w else None
        for r in _row_blocks(g2, z.size(1)):
            if need_z:
                _thin_mm(g2[r], weight[:, :-1], out=grad_z[r])
            if need_w:
                grad_wt[:-1].addmm_(z[r].t(), g2[r])
                grad_wt[-1] += g2[r].sum(0)
        return (None, grad_z, grad_wt.t() if need_w else None, None)


@MODELS.register_module()
class NCBlock(BaseModule):
    """Cross-channel communication block (the "NC" or C3 block).

    Each channel's response map is resized to a fixed ``grid`` (``S = h*w``
    cells) and encoded by an MLP over the ``S`` positions (``S -> S/r -> S``,
    shared by all channels). Channel ``j`` gathers the encodings of all
    channels ``i`` of its group, weighted by ``softmax_i(-(m_i - m_j)^2)``
    where ``m`` is the mean of a channel's encoding. A decoder MLP
    (``S -> S/r -> S``) maps the message back; it is resized to the input
    size and added to the input. Output shape equals input shape.

    Computed exactly, but not in the reference's order: the resizes are
    folded into the encoder's first and the decoder's last layer (one
    matmul each, then the residual is added); channels exchange the decoder's
    first-layer projection of their encodings (``S/r`` wide, not ``S``);
    the ``C x C`` softmax weights are rebuilt per chunk of samples, never
    stored (see ``_NCMessage``). The parameters are the reference's, and
    the output equals its formulation (``tests/test_nc_block.py``).

    Args:
        in_channels (int): Channels of the input.
        grid (int | tuple[int, int]): The ``(h, w)`` grid the response maps
            are resized to. A plugin cannot know its input size, so any input
            size works; choose the grid of the typical input (7 for stage 4
            of a C4 RoI head). Default: 7.
        reduction (int): Divisor of the encoder/decoder hidden width,
            ``S // reduction``. Default: 8.
        group_size (int): Channels communicate within groups of this size;
            with more channels they are split into ``in_channels //
            group_size`` equal groups, as the reference does. Default: 512.
        resize_mode (str): Interpolation to and from the grid: 'nearest' (as
            the reference), 'bilinear' or 'area'. Default: 'nearest'.
        act_cfg (dict, optional): Activation after the addition. The
            reference applies ReLU; ``None`` lets the block start as the
            exact identity (with ``zero_init``). Default: None.
        zero_init (bool): Zero the decoder's last layer, at construction
            and again in ``init_weights()`` (which runs after a host's
            ``init_cfg``), so that the block starts as ``x + 0``.
            Default: True.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    _abbr_ = 'nc_block'

    def __init__(self,
                 in_channels: int,
                 grid: Union[int, Sequence[int]] = 7,
                 reduction: int = 8,
                 group_size: int = 512,
                 resize_mode: str = 'nearest',
                 act_cfg: dict | None = None,
                 zero_init: bool = True,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        grid = (grid, grid) if isinstance(grid, int) else tuple(grid)
        if (len(grid) != 2 or not all(isinstance(g, int) for g in grid)
                or min(grid) < 1):
            raise ValueError(f'NCBlock: grid must be a positive int or a pair '
                             f'(h, w) of positive ints, got {grid!r}')
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'NCBlock: in_channels must be a positive int, '
                             f'got {in_channels!r}')
        if not isinstance(group_size, int) or group_size < 1:
            raise ValueError(f'NCBlock: group_size must be a positive int, '
                             f'got {group_size!r}')
        num_groups = max(1, in_channels // group_size)
        if in_channels % num_groups:
            raise ValueError(
                f'NCBlock: {in_channels} channels cannot be split into '
                f'{num_groups} equal groups (group_size={group_size}); use a '
                f'channel count that is a multiple of {num_groups} or set '
                f'group_size so that in_channels // group_size divides it')
        spatial = grid[0] * grid[1]
        if not isinstance(reduction, int) or not 1 <= reduction <= spatial:
            raise ValueError(
                f'NCBlock: reduction must be an int in [1, {spatial}] for a '
                f'{grid[0]}x{grid[1]} grid (hidden width S // reduction must '
                f'be >= 1), got {reduction!r}')
        if resize_mode not in _RESIZE_MODES:
            raise ValueError(f'NCBlock: resize_mode must be one of '
                             f'{_RESIZE_MODES}, got {resize_mode!r}')
        self.in_channels = in_channels
        self.grid = grid
        self.reduction = reduction
        self.num_groups = num_groups
        self.resize_mode = resize_mode
        self.zero_init = zero_init
        hidden = spatial // reduction
        self.encoder = self._mlp(spatial, hidden)
        self.decoder = self._mlp(spatial, hidden)
        self.act = build_activation_layer(act_cfg) if act_cfg else None
        self._zero_decoder()  # also for hosts that never call init_weights

    @staticmethod
    def _mlp(dim: int, hidden: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Linear(dim, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, dim))

    def init_weights(self) -> None:
        # Runs after the host's init_cfg, so the zero-init survives it.
        super().init_weights()
        self._zero_decoder()

    def _zero_decoder(self) -> None:
        if self.zero_init:
            nn.init.zeros_(self.decoder[-1].weight)
            nn.init.zeros_(self.decoder[-1].bias)

    def _folded_io(self, h: int, w: int):
        """The encoder's first and the decoder's last layer, with the resizes
        to and from the grid folded in (all three are linear maps, and 2-D
        resizes are separable): ``[S // r, H*W]`` and ``[H*W, S // r + 1]``
        (the decoder's bias as the last column). The block then reads and
        writes ``H x W`` maps with one matmul each."""
        (gh, gw), mode = self.grid, self.resize_mode
        enc_in, dec_out = self.encoder[0], self.decoder[2]
        dec = torch.cat([dec_out.weight, dec_out.bias[:, None]], dim=1)
        if (h, w) == (gh, gw):  # the map is the grid: no resize to fold
            return enc_in.weight, dec
        like, k = enc_in.weight, enc_in.out_features
        # 2-D matmuls, one axis at a time: ONNX has einsum only from opset
        # 12 (mmdeploy exports at opset 11), and mmengine's FLOP counter
        # counts 2-D matmuls exactly
        t = enc_in.weight.reshape(k * gh, gw) @ _resize_matrix(
            w, gw, mode, like)  # [k * gh, W]
        t = t.view(k, gh, w).transpose(1, 2).reshape(k * w, gh) @ \
            _resize_matrix(h, gh, mode, like)  # [k * W, H]
        w_in = t.view(k, w, h).transpose(1, 2)  # [k, H, W]
        t = _resize_matrix(gh, h, mode, like) @ dec.view(gh, -1)  # [H, gw k']
        t = _resize_matrix(gw, w, mode, like) @ t.view(h, gw, -1).transpose(
            0, 1).reshape(gw, -1)  # [W, H * k']
        w_out = t.view(w, h, -1).transpose(0, 1)  # [H, W, k']
        return w_in.reshape(k, h * w), w_out.reshape(h * w, -1)

    def _message(self, h: torch.Tensor) -> torch.Tensor:
        """``dec_in(sum_i a_ij e_i)`` from the encoder's hidden ``h``.

        The encoding ``e = enc_out(h)`` is used only through its mean and
        the decoder's first layer, both linear, so the channels exchange
        ``u = dec_in(e)`` (``S // r`` wide) instead of ``e`` (``S``): the
        weights sum to 1, so ``dec_in(sum_i a_ij e_i) = sum_i a_ij u_i``.
        Same function, same parameters, ``r`` times less exchange work.
        """
        enc_out, dec_in = self.encoder[2], self.decoder[0]
        u = _linear(h, dec_in.weight @ enc_out.weight,
                    dec_in.weight @ enc_out.bias)  # [B, C', S // r]
        m = _linear(h, enc_out.weight.mean(0, keepdim=True),
                    enc_out.bias.mean(0, keepdim=True))  # mean_s e
        return nc_message(u, m.squeeze(-1)) + dec_in.bias

    def _exchange(self, hid: torch.Tensor, fast: bool) -> torch.Tensor:
        """``relu(dec_in(message))`` as ``[N * C, S // r]`` from the
        encoder's hidden ``[N * groups, C / groups, S // r]``; ``fast``: the
        message may take the transform (:func:`exact_message`), passed so
        that backward's recomputation takes the path forward took."""
        with _fast_message(fast):
            return self.decoder[1](self._message(hid)).flatten(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(
                f'NCBlock expects input [N, {self.in_channels}, H, W], got '
                f'{list(x.shape)}')
        if DEBUG:
            check_finite(self, x)
        n, c, h, w = x.shape
        w_in, w_out = self._folded_io(h, w)
        fused = _fused(x)
        if fused:
            link = _Link()
            hid = _Encode.apply(x, w_in, self.encoder[0].bias, link)
        else:
            hid = F.linear(x.reshape(n * c, h * w), w_in, self.encoder[0].bias)
        hid = self.encoder[1](hid)
        # [N * groups, C / groups, S // r]: channels talk within a group
        hid = hid.view(n * self.num_groups, c // self.num_groups, -1)
        if (fused and torch.is_grad_enabled()
                and hid.numel() * hid.element_size() >= _RECOMPUTE_BYTES):
            # the exchange's tensors (the message's [B, k + 1, C] operands
            # and its geometry, ~4x the S // r-wide hidden) are recomputed
            # in backward, not kept: training memory is then ~SE's
            z = checkpoint(self._exchange, hid, _FAST_MESSAGE[0],
                           use_reentrant=False, preserve_rng_state=False)
        else:
            z = self._exchange(hid, _FAST_MESSAGE[0])
        if fused:
            out = _Residual.apply(x, z, w_out, link)
        else:
            # x + delta, not addmm(x2, ...).view(...): the output must not
            # be a view (see _Residual)
            out = x + F.linear(z, w_out[:, :-1], w_out[:, -1]).view(
                n, c, h, w)
        return self.act(out) if self.act is not None else out
