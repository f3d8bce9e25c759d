"""Cross-channel communication (NC / C3) block.

Yang et al., *Cross-channel Communication Networks*, NeurIPS 2019,
https://papers.nips.cc/paper/8411-cross-channel-communication-networks
Official code: https://github.com/jwyang/C3Net.pytorch
(``lib/layers/cross_neuron_distributed.py``).
"""
from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from mmengine.analysis.complexity_analysis import _DEFAULT_SUPPORTED_FLOP_OPS
from mmengine.model import BaseModule
from mmengine.registry import MODELS

from .debug import DEBUG, check_finite
from .plugins import refuse_broken_mmseg_host

_RESIZE_MODES = ('nearest', 'bilinear', 'area')


def _resize(x: torch.Tensor, size: Sequence[int], mode: str) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    align = False if mode == 'bilinear' else None
    return F.interpolate(x, size=tuple(size), mode=mode, align_corners=align)


def _resize_matrix(size_in: int, size_out: int, mode: str,
                   like: torch.Tensor) -> torch.Tensor:
    """``[size_out, size_in]``: the 1-D ``mode`` resize as a matrix."""
    # half precisions built in float32 (torch 2.1 has no bf16 eye on CPU)
    dtype = like.dtype if like.dtype.itemsize >= 4 else torch.float32
    eye = torch.eye(size_in, dtype=dtype, device=like.device)
    out = _resize(eye.view(size_in, 1, size_in, 1), (size_out, 1), mode)
    return out.view(size_in, size_out).t().to(like.dtype)


# Bound on the elements of the [b, C, C] weights made at once (16 MiB fp32:
# 16 samples of 512 channels; 1 to 64 samples measured equally fast here).
_CHUNK_ELEMENTS = 1 << 22


def _chunks(batch: int, channels: int):
    step = max(1, _CHUNK_ELEMENTS // (channels * channels))
    for b in range(0, batch, step):
        yield slice(b, min(b + step, batch))


def _kernel(m: torch.Tensor) -> torch.Tensor:
    """``w[b, j, i] = exp(-(m_i - m_j)^2)``, in place on one buffer.

    ``w / w.sum(-1)`` is the softmax over ``i``; its largest logit is the
    ``i = j`` one (0), so no max-subtraction is needed and row sums are
    >= 1. Logits below -80 (weights < 1e-34, far below float eps) are
    clamped there: ``exp`` of denormals is many times slower on CPUs.
    """
    d = m.unsqueeze(2) - m.unsqueeze(1)  # [b, C(j), C(i)]
    return d.square_().clamp_(max=80).neg_().exp_()


def _append(x: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
    """``[x | col]`` along the last dim: [B, C, S] + [B, C, 1]."""
    return torch.cat([x, col.expand(*x.shape[:-1], 1)], dim=-1)


class _NCMessage(torch.autograd.Function):
    """``out[j] = sum_i softmax_i(-(m_i - m_j)^2) v[i]``, exact and lean.

    The ``C x C`` weights ``w[j, i] = exp(-(m_i - m_j)^2)`` are a Gaussian
    kernel of the channel keys ``m``, cheap to rebuild: they are made for a
    few samples at a time, never stored, and rebuilt in backward. They are
    symmetric, so backward needs one product with them: ``[a; m a; m v] W``
    gives the values' gradient and, without forming the ``C x C`` logit
    gradient, the keys' gradient. The softmax's normaliser rides along as a
    row of ones. Matmul work is ``4 B C^2 (k + 1)`` multiply-adds for
    ``k``-wide values.
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
        for b in _chunks(v.size(0), v.size(1)):
            torch.bmm(v1[b], _kernel(m[b]), out=acc[b])  # [v W ; 1 W]
        z = acc[:, -1:]  # [B, 1, C] softmax normalisers
        out = acc[:, :-1] / z
        ctx.save_for_backward(v1, m, z, out)
        return out.transpose(1, 2)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        v1, m, z, out = ctx.saved_tensors  # [B, k + 1 | 1 | k, C], [B, C]
        gz = grad.transpose(1, 2) / z  # g_j / Z_j
        # d loss / d logit_ji = w_ji a_j . v1_i; a_j = [g_j / Z_j ;
        # -g_j . out_j / Z_j]
        a = torch.cat([gz, -(out * gz).sum(1, keepdim=True)], dim=1)
        mr = m.unsqueeze(1)
        rhs = torch.cat([a, mr * a, mr * v1], dim=1)  # [B, 3(k + 1), C]
        prod = torch.empty_like(rhs)
        for b in _chunks(v1.size(0), v1.size(2)):
            torch.bmm(rhs[b], _kernel(m[b]), out=prod[b])
        wa, wma, wmv = prod.split(v1.size(1), dim=1)
        # d logit_ji / d m_i = 2 (m_j - m_i), d logit_ji / d m_j = 2 (m_i -
        # m_j); the j-side term with m_j vanishes (rows of dl sum to 0).
        grad_m = 2 * ((v1 * (wma - mr * wa)).sum(1) + (a * wmv).sum(1))
        return wa[:, :-1].transpose(1, 2), grad_m


def nc_message(v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """The message each channel receives from the channels of its group.

    ``out[j] = sum_i a_ij * v[i]`` with ``a_ij = softmax_i(-(m_i - m_j)^2)``.

    Args:
        v (Tensor): Values, ``[B, C, k]`` (one row per channel).
        m (Tensor): Keys, ``[B, C]``: the mean of each channel's encoding.

    Returns:
        Tensor: The messages, ``[B, C, k]``.
    """
    return _NCMessage.apply(v.contiguous(), m)


def nc_message_flops(inputs, outputs) -> int:
    """FLOP handle for mmengine's analyzer: ``B C^2 (k + 1)`` multiply-adds
    (the values and the softmax's normaliser)."""
    from mmengine.analysis.jit_handles import get_shape
    b, c, k = get_shape(inputs[0])
    return b * c * c * (k + 1)


# mmengine's FLOP counter sees the Function as one opaque op: count its work.
# An entry for mmnc's own op only; upstream entries stay as they are.
_DEFAULT_SUPPORTED_FLOP_OPS.setdefault('prim::PythonOp._NCMessage',
                                       nc_message_flops)


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
    matmul each, the residual included); channels exchange the decoder's
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
        refuse_broken_mmseg_host('NCBlock')
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
        writes ``H x W`` maps with one matmul each, residual included."""
        (gh, gw), mode = self.grid, self.resize_mode
        enc_in, dec_out = self.encoder[0], self.decoder[2]
        like = enc_in.weight
        w_in = torch.einsum(
            'kab,aH,bW->kHW', enc_in.weight.view(-1, gh, gw),
            _resize_matrix(h, gh, mode, like),
            _resize_matrix(w, gw, mode, like))
        dec = torch.cat([dec_out.weight, dec_out.bias[:, None]], dim=1)
        w_out = torch.einsum(
            'Ha,Wb,abk->HWk', _resize_matrix(gh, h, mode, like),
            _resize_matrix(gw, w, mode, like), dec.view(gh, gw, -1))
        return w_in.flatten(1), w_out.flatten(0, 1)

    def _message(self, h: torch.Tensor) -> torch.Tensor:
        """``dec_in(sum_i a_ij e_i)`` from the encoder's hidden ``h``.

        The encoding ``e = enc_out(h)`` is used only through its mean and
        the decoder's first layer, both linear, so the channels exchange
        ``u = dec_in(e)`` (``S // r`` wide) instead of ``e`` (``S``): the
        weights sum to 1, so ``dec_in(sum_i a_ij e_i) = sum_i a_ij u_i``.
        Same function, same parameters, ``r`` times less exchange work.
        """
        enc_out, dec_in = self.encoder[2], self.decoder[0]
        u = F.linear(h, dec_in.weight @ enc_out.weight,
                     dec_in.weight @ enc_out.bias)  # [B, C', S // r]
        m = F.linear(h, enc_out.weight.mean(0, keepdim=True),
                     enc_out.bias.mean(0, keepdim=True))  # mean_s e
        return nc_message(u, m.squeeze(-1)) + dec_in.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(
                f'NCBlock expects input [N, {self.in_channels}, H, W], got '
                f'{list(x.shape)}')
        if DEBUG:
            check_finite(self, x)
        n, c, h, w = x.shape
        w_in, w_out = self._folded_io(h, w)
        x2 = x.reshape(n * c, h * w)
        hid = self.encoder[1](F.linear(x2, w_in, self.encoder[0].bias))
        # [N * groups, C / groups, S // r]: channels talk within a group
        hid = hid.view(n * self.num_groups, c // self.num_groups, -1)
        z = self.decoder[1](self._message(hid)).reshape(n * c, -1)
        out = torch.addmm(x2, _append(z, z.new_ones(())), w_out.t())
        out = out.view(n, c, h, w)
        return self.act(out) if self.act is not None else out
