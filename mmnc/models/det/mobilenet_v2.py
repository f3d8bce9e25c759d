"""mmdet's MobileNet-v2 with plugins: ``type='mmnc.MobileNetV2'``."""
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmdet.models.backbones import mobilenet_v2 as _mobilenet_v2
from mmdet.models.layers import InvertedResidual as _InvertedResidual

from mmnc.layers import add_plugins
from mmnc.models.plugin_host import BlockPlugins, MobileNetV2Plugins
from mmnc.registry import register_host


class InvertedResidual(_InvertedResidual):
    """mmdet's ``InvertedResidual`` with plugins after its linear
    projection, before the residual addition.

    Args:
        plugins (list[dict]): Plugin cfgs. Default: ().
        **kwargs: The arguments of mmdet's ``InvertedResidual``.
    """

    def __init__(self, *args, plugins: Sequence[dict] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.after_linear_plugin_names = add_plugins(
            self, self.linear_conv.conv.out_channels, plugins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:

        def _inner_forward(x):
            out = self.expand_conv(x) if self.with_expand_conv else x
            out = self.depthwise_conv(out)
            if self.with_se:
                out = self.se(out)
            out = self.linear_conv(out)
            out = BlockPlugins.forward_plugin(
                self, out, self.after_linear_plugin_names)
            if self.with_res_shortcut:
                return x + self.drop_path(out)
            return out

        if self.with_cp and x.requires_grad:
            return cp.checkpoint(_inner_forward, x, use_reentrant=False)
        return _inner_forward(x)


@register_host('mmdet')
class MobileNetV2(MobileNetV2Plugins, _mobilenet_v2.MobileNetV2):
    """mmdet's ``MobileNetV2`` with plugins (see ``MobileNetV2Plugins``)."""

    @staticmethod
    def block_channels(block: nn.Module) -> int:
        return block.linear_conv.conv.out_channels

    def add_after_linear(self, block: nn.Module, cfgs: List[dict]) -> None:
        pass  # built by make_layer, into the blocks

    def make_layer(self, out_channels: int, num_blocks: int, stride: int,
                   expand_ratio: int) -> nn.Sequential:
        """mmdet's ``make_layer`` with :class:`InvertedResidual` blocks."""
        cfgs = self._stage_plugins[len(self.layers)]['after_linear']
        layers = []
        for i in range(num_blocks):
            layers.append(
                InvertedResidual(
                    self.in_channels,
                    out_channels,
                    mid_channels=int(round(self.in_channels * expand_ratio)),
                    stride=stride if i == 0 else 1,
                    with_expand_conv=expand_ratio != 1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg,
                    with_cp=self.with_cp,
                    plugins=cfgs))
            self.in_channels = out_channels
        return nn.Sequential(*layers)
