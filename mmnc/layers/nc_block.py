"""Cross-channel communication (NC / C3) block.

Yang et al., *Cross-channel Communication Networks*, NeurIPS 2019,
https://papers.nips.cc/paper/8411-cross-channel-communication-networks
Official code: https://github.com/jwyang/C3Net.pytorch
(``lib/layers/cross_neuron_distributed.py``).
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer
from mmengine.analysis.complexity_analysis import _DEFAULT_SUPPORTED_FLOP_OPS
from mmengine.model import BaseModule
from mmengine.registry import MODELS

from mmnc.apis import DEBUG, check_finite

_RESIZE_MODES = ('nearest', 'bilinear', 'area')


def _resize(x: torch.Tensor, size: Sequence[int], mode: str) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    align = False if mode == 'bilinear' else None
    return F.interpolate(x, size=tuple(size), mode=mode, align_corners=align)


# Bound on the elements of the [b, C, C] weights made at once (16 MiB fp32:
# 16 samples of 512 channels, enough for efficient batched matmuls, small
# enough to stay in cache).
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
    """``out[j] = sum_i softmax_i(-(m_i - m_j)^2) e[i]``, exact and lean.

    The ``C x C`` weights are a Gaussian kernel of the channel means, cheap
    to rebuild: they are made for a few samples at a time, never stored, and
    rebuilt in backward. Matmul work is ``6 B C^2 S`` FLOPs (forward ``W e``;
    backward ``W^T G`` and ``G e^T``). The softmax's normaliser and the
    backward's ``- g_j . out_j`` ride along as one extra matmul column, so
    the ``C x C`` weights see only the exp and one multiply.
    """

    @staticmethod
    def forward(ctx, e: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        # e: [B, C, S] encodings, m: [B, C] their means
        e1 = _append(e, e.new_ones(()))  # [B, C, S + 1]
        acc = torch.empty_like(e1)
        for b in _chunks(e.size(0), e.size(1)):
            torch.bmm(_kernel(m[b]), e1[b], out=acc[b])  # [W e | W 1]
        z = acc[..., -1:]  # [B, C, 1] softmax normalisers
        out = acc[..., :-1] / z
        ctx.save_for_backward(e1, m, z, out)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        e1, m, z, out = ctx.saved_tensors
        gz = grad / z  # [B, C, S]: g_j / Z_j
        a = _append(gz, -(out * gz).sum(-1, keepdim=True))  # [B, C, S + 1]
        grad_e = torch.empty_like(out)
        grad_m = torch.empty_like(m)
        for b in _chunks(e1.size(0), e1.size(1)):
            w, mb = _kernel(m[b]), m[b]
            torch.bmm(w.transpose(1, 2), gz[b], out=grad_e[b])
            # d loss / d logit_ji = p_ji (g_j . e_i - g_j . out_j)
            dl = torch.bmm(a[b], e1[b].transpose(1, 2)).mul_(w)
            # d logit_ji / d m_j = 2 (m_i - m_j) (rows of dl sum to 0);
            # d logit_ji / d m_i = 2 (m_j - m_i)
            mi = torch.bmm(torch.stack([mb, torch.ones_like(mb)], 1), dl)
            grad_m[b] = 2 * (torch.bmm(dl, mb.unsqueeze(2)).squeeze(2)
                             + mi[:, 0] - mb * mi[:, 1])
        return grad_e, grad_m


def nc_message(e: torch.Tensor) -> torch.Tensor:
    """The message each channel receives from the channels of its group.

    ``out[j] = sum_i a_ij * e[i]`` with ``a_ij = softmax_i(-(m_i - m_j)^2)``
    and ``m_i = mean(e[i])``.

    Args:
        e (Tensor): Encoded channels, ``[B, C, S]`` (one row per channel).

    Returns:
        Tensor: The messages, ``[B, C, S]``.
    """
    return _NCMessage.apply(e.contiguous(), e.mean(dim=-1))


def nc_message_flops(inputs, outputs) -> int:
    """FLOP handle for mmengine's analyzer: ``B C^2 S`` multiply-adds."""
    from mmengine.analysis.jit_handles import get_shape
    b, c, s = get_shape(inputs[0])
    return b * c * c * s


# mmengine's FLOP counter sees the Function as one opaque op: count its work.
_DEFAULT_SUPPORTED_FLOP_OPS['prim::PythonOp._NCMessage'] = nc_message_flops


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
                 act_cfg: Optional[dict] = None,
                 zero_init: bool = True,
                 init_cfg: Optional[dict] = None):
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(
                f'NCBlock expects input [N, {self.in_channels}, H, W], got '
                f'{list(x.shape)}')
        if DEBUG:
            check_finite(self, x)
        n, c, h, w = x.shape
        g = _resize(x, self.grid, self.resize_mode)  # [N, C, h', w']
        # [N * groups, C / groups, S]
        g = g.reshape(n * self.num_groups, c // self.num_groups, -1)
        msg = self.decoder(nc_message(self.encoder(g)))  # [B, C', S]
        msg = _resize(msg.reshape(n, c, *self.grid), (h, w), self.resize_mode)
        out = x + msg
        return self.act(out) if self.act is not None else out
