"""Squeeze-and-Excitation block as a plugin layer.

Hu et al., *Squeeze-and-Excitation Networks*, CVPR 2018,
https://arxiv.org/abs/1709.01507
"""

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule
from mmengine.registry import MODELS

from .debug import DEBUG, check_finite


@MODELS.register_module()
class SEBlock(BaseModule):
    """Squeeze-and-Excitation: ``x * gate(fc2(act(fc1(avgpool(x)))))``.

    Same contract as :class:`NCBlock` (``in_channels`` first, output shape
    equals input shape), so swapping one for the other in a ``plugins`` list
    changes one word.

    Args:
        in_channels (int): Channels of the input.
        ratio (int): Divisor of the hidden width, ``in_channels // ratio``
            (the paper's ``r``). Default: 16.
        bias (bool): Whether the two FC layers have biases (the C3Net
            reference uses ``ratio=8, bias=False`` on CIFAR). Default: True.
        act_cfg (dict): Activation between the two FC layers.
            Default: ``dict(type='ReLU')``.
        gate_cfg (dict): The gate. Default: ``dict(type='Sigmoid')``.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    _abbr_ = 'se_block'

    def __init__(self,
                 in_channels: int,
                 ratio: int = 16,
                 bias: bool = True,
                 act_cfg: dict = dict(type='ReLU'),
                 gate_cfg: dict = dict(type='Sigmoid'),
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'SEBlock: in_channels must be a positive int, '
                             f'got {in_channels!r}')
        if not isinstance(ratio, int) or not 1 <= ratio <= in_channels:
            raise ValueError(
                f'SEBlock: ratio must be an int in [1, {in_channels}] (hidden '
                f'width in_channels // ratio must be >= 1), got {ratio!r}')
        self.in_channels = in_channels
        hidden = in_channels // ratio
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(in_channels, hidden, 1, bias=bias)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Conv2d(hidden, in_channels, 1, bias=bias)
        self.gate = build_activation_layer(gate_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(
                f'SEBlock expects input [N, {self.in_channels}, H, W], got '
                f'{list(x.shape)}')
        if DEBUG:
            check_finite(self, x)
        w = self.fc2(self.act(self.fc1(self.pool(x))))  # [N, C, 1, 1]
        return x * self.gate(w)
