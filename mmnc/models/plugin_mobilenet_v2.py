"""Plugins in the MobileNet-v2 of mmdet, mmseg and mmpretrain.

Sandler et al., *MobileNetV2: Inverted Residuals and Linear Bottlenecks*,
CVPR 2018, https://arxiv.org/abs/1801.04381
"""
from typing import List, Sequence

import torch.nn as nn

from mmnc.layers import add_plugins, init_unreached, split_plugins
from mmnc.models.drop_in import DropIn


class MobileNetV2Plugins(DropIn):
    """A MobileNet-v2 (stages ``layer1`` ... ``layer7``) with plugins.

    The network, its arguments (positional too: a drop-in,
    :mod:`mmnc.models.drop_in`), parameter names and checkpoints are the
    toolbox's (3.50M parameters with mmpretrain's 1000-class head); plugins
    are added to them. ``plugins`` follows mmdet's ``ResNet`` convention
    (``stages`` has one bool per stage). Positions:

    - ``'after_linear'``: in every inverted residual, after the linear 1x1
      projection and its BN, before the residual addition (the SE-Net
      placement; its output channels);
    - ``'after_stage'``: one plugin on the output of the stage.

    Args:
        plugins (Sequence[dict], optional): The plugins, e.g.
            ``[dict(cfg=dict(type='SEBlock'), position='after_linear')]``.
            Default: None.
        **kwargs: The arguments of the toolbox's ``MobileNetV2``.
    """

    plugin_positions = ('after_linear', 'after_stage')

    def __init__(self, *args, plugins: Sequence[dict] | None = None,
                 **kwargs):
        self._stage_plugins = split_plugins(
            plugins, len(self.arch_settings), self.plugin_positions,
            f'mmnc.{type(self).__name__}')
        self.plugins = plugins
        super().__init__(*args, **kwargs)
        for i, cfgs in enumerate(self._stage_plugins):
            stage = getattr(self, f'layer{i + 1}')
            channels = self.block_channels(stage[-1])
            for block in stage:
                self.add_after_linear(block, cfgs['after_linear'])
            add_plugins(stage, channels, cfgs['after_stage'])

    @staticmethod
    def block_channels(block: nn.Module) -> int:
        """Output channels of an inverted residual whose ``conv`` is a
        Sequential ending with the projection (mmpretrain's, mmseg's)."""
        return block.conv[-1].conv.out_channels

    def add_after_linear(self, block: nn.Module, cfgs: List[dict]) -> None:
        """Append the plugins to the block's ``conv`` Sequential, which its
        forward runs before the residual addition."""
        add_plugins(block.conv, self.block_channels(block), cfgs)

    def init_weights(self) -> None:
        super().init_weights()
        init_unreached(self)  # plugins below the stages' nn.Sequential
