"""CIFAR ResNets and Wide-ResNets that take mmdet-style ``plugins``.

He et al., *Deep Residual Learning for Image Recognition*, CVPR 2016,
https://arxiv.org/abs/1512.03385 (Sec. 4.2, the CIFAR-10 networks);
Zagoruyko & Komodakis, *Wide Residual Networks*, BMVC 2016,
https://arxiv.org/abs/1605.07146.
"""
from typing import Sequence

import torch.nn as nn
from mmengine.registry import MODELS
from mmpretrain.models.backbones.resnet import ResLayer
from mmpretrain.models.backbones.resnet_cifar import ResNet_CIFAR

from mmnc.layers import add_plugins, init_unreached, split_plugins
from mmnc.models.plugin_host import block_plugins

from .resnet import BasicBlock


@MODELS.register_module()
class CifarResNet(ResNet_CIFAR):
    """ResNet-(6n+2) and Wide-ResNet for 32x32 inputs, with plugins.

    A 3x3 stem conv (16 channels) + BN + ReLU, no max-pool, then three stages
    of ``n = (depth - 2) / 6`` BasicBlocks with ``16k, 32k, 64k`` channels
    (``k = widen_factor``) and strides 1, 2, 2: ResNet-20/56/110 of He et
    al. for ``k = 1``. With ``depth=20, widen_factor=10`` it is the
    Wide-ResNet of the C3Net paper's Table 1 (26.9M parameters on
    CIFAR-100): 3 blocks per stage, which Zagoruyko & Komodakis, who also
    count the three projection shortcuts (``d = 6n + 4``), call WRN-22-10.
    Its blocks are post-activation (conv-BN-ReLU), as in the C3Net
    reference code, where the WRN paper uses pre-activation blocks.

    Plugins follow mmdet's ``ResNet`` convention, e.g.
    ``plugins=[dict(cfg=dict(type='NCBlock', grid=16), stages=(True, True,
    False), position='before_stage')]``. Positions:

    - ``'before_stage'``: one plugin on the input of the stage (its input
      channels), e.g. the C3Net reference's NC blocks on CIFAR;
    - ``'after_conv1'``: in every block, after conv1-bn1-relu;
    - ``'after_conv2'``: in every block, after conv2-bn2, before the residual
      addition (the SE-Net placement).

    Args:
        depth (int): ``6n + 2`` (20, 56, 110, ...). Default: 20.
        widen_factor (int): Channel multiplier ``k`` of the stages.
            Default: 1.
        plugins (Sequence[dict], optional): The plugins, see above.
            Default: None.
        stem_channels (int): Channels of the stem conv. Default: 16.
        base_channels (int): Channels of the first stage before widening.
            Default: 16.
        out_indices (Sequence[int]): Stages whose outputs are returned.
            Default: ``(2, )``.
        **kwargs: Other arguments of :class:`mmpretrain.models.ResNet`
            (``norm_cfg``, ``frozen_stages``, ``zero_init_residual``,
            ``init_cfg``, ...).
    """

    positions = ('before_stage', 'after_conv1', 'after_conv2')

    def __init__(self,
                 depth: int = 20,
                 widen_factor: int = 1,
                 plugins: Sequence[dict] | None = None,
                 stem_channels: int = 16,
                 base_channels: int = 16,
                 out_indices: Sequence[int] = (2, ),
                 **kwargs):
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f'CifarResNet: depth must be 6n + 2 with n >= 1 '
                             f'(20, 56, 110, ...), got {depth!r}')
        if not isinstance(widen_factor, int) or widen_factor < 1:
            raise ValueError(f'CifarResNet: widen_factor must be a positive '
                             f'int, got {widen_factor!r}')
        n = (depth - 2) // 6
        # ResNet.__init__ looks the depth up and calls make_res_layer, which
        # reads the plugins: both must exist before it runs.
        self.arch_settings = {depth: (BasicBlock, (n, n, n))}
        self._stage_plugins = split_plugins(plugins, 3, self.positions,
                                            type(self).__name__)
        super().__init__(
            depth,
            stem_channels=stem_channels,
            base_channels=base_channels * widen_factor,
            num_stages=3,
            strides=(1, 2, 2),
            dilations=(1, 1, 1),
            out_indices=out_indices,
            **kwargs)
        self.widen_factor = widen_factor

    def make_res_layer(self, **kwargs) -> nn.Sequential:
        plugins = dict(self._stage_plugins[len(self.res_layers)])
        stage = nn.Sequential()
        add_plugins(stage, kwargs['in_channels'], plugins.pop('before_stage'))
        blocks = ResLayer(plugins=block_plugins(plugins), **kwargs)
        for name, block in blocks.named_children():
            stage.add_module(name, block)
        return stage

    def init_weights(self) -> None:
        super().init_weights()
        init_unreached(self)
