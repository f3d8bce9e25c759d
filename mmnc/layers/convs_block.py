"""Two convolution layers in place of an NC block: the '+Convs' control.

Yang et al., *Cross-channel Communication Networks*, NeurIPS 2019,
https://papers.nips.cc/paper/8411-cross-channel-communication-networks
(Table 1, bottom row of the rebuttal's CIFAR-100 table: each NC block
replaced by two convolution layers with more parameters, to show that NC's
gain is not its size).
"""
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer
from mmengine.model import BaseModule
from mmengine.registry import MODELS


@MODELS.register_module()
class ConvsBlock(BaseModule):
    """``act(x + bn(conv(act(bn(conv(x))))))``: two convolutions, residual.

    Same contract as :class:`NCBlock` and :class:`SEBlock`
    (``in_channels`` first, output shape equals input shape).

    Args:
        in_channels (int): Channels of the input and output.
        expansion (int): The hidden width is ``in_channels * expansion``.
            Default: 4.
        kernel_size (int): Of both convolutions (odd). Default: 3.
        norm_cfg (dict): Norm after each convolution.
            Default: ``dict(type='BN')``.
        act_cfg (dict, optional): Activation after the first convolution
            and after the addition (None: none). Default:
            ``dict(type='ReLU')``.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    _abbr_ = 'convs_block'

    def __init__(self,
                 in_channels: int,
                 expansion: int = 4,
                 kernel_size: int = 3,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict | None = dict(type='ReLU'),
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('in_channels', in_channels),
                            ('expansion', expansion)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'ConvsBlock: {name} must be a positive '
                                 f'int, got {value!r}')
        if not isinstance(kernel_size, int) or kernel_size % 2 == 0:
            raise ValueError(f'ConvsBlock: kernel_size must be an odd int, '
                             f'got {kernel_size!r}')
        self.in_channels = in_channels
        hidden = in_channels * expansion
        self.conv1 = ConvModule(in_channels, hidden, kernel_size,
                                padding=kernel_size // 2, norm_cfg=norm_cfg,
                                act_cfg=act_cfg)
        self.conv2 = ConvModule(hidden, in_channels, kernel_size,
                                padding=kernel_size // 2, norm_cfg=norm_cfg,
                                act_cfg=None)
        self.act = build_activation_layer(act_cfg) if act_cfg else \
            nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(
                f'ConvsBlock expects input [N, {self.in_channels}, H, W], got '
                f'{list(x.shape)}')
        return self.act(x + self.conv2(self.conv1(x)))  # [N, C, H, W]
