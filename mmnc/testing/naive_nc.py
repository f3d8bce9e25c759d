"""The NC block's formulation, written plainly: the reference that tests and
the benchmark compare :class:`mmnc.layers.NCBlock` against."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmnc.layers import NCBlock


def naive_nc(block: NCBlock, x: torch.Tensor) -> torch.Tensor:
    """``block``'s function the paper's way: resize to the grid, encode,
    a ``C x C`` softmax matrix per group, ``S``-wide messages, decode,
    resize back, add (and the block's activation), with its parameters."""
    n, c, h, w = x.shape
    mode = block.resize_mode
    align = False if mode == 'bilinear' else None
    g = F.interpolate(x, size=block.grid, mode=mode, align_corners=align)
    groups = block.num_groups
    v = g.reshape(n * groups, c // groups, -1)  # [B, C', S]
    v = block.encoder(v).transpose(1, 2)  # [B, S, C']
    m = v.mean(1, keepdim=True)  # [B, 1, C']
    score = -(m - m.transpose(1, 2))**2  # [B, C'(i), C'(j)]
    attn = torch.softmax(score, dim=1)  # softmax over i
    msg = torch.bmm(v, attn).transpose(1, 2)  # [B, C', S]
    msg = block.decoder(msg).reshape(n, c, *block.grid)
    out = x + F.interpolate(msg, size=(h, w), mode=mode, align_corners=align)
    return block.act(out) if block.act is not None else out


class NaiveNC(nn.Module):
    """:func:`naive_nc` as a module around an :class:`NCBlock`'s weights."""

    def __init__(self, block: NCBlock):
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return naive_nc(self.block, x)
