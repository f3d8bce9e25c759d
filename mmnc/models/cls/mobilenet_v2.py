"""MobileNet-v2 that takes mmdet-style ``plugins``.

Sandler et al., *MobileNetV2: Inverted Residuals and Linear Bottlenecks*,
CVPR 2018, https://arxiv.org/abs/1801.04381
"""
from typing import Sequence

from mmengine.registry import MODELS
from mmpretrain.models.backbones import MobileNetV2

from mmnc.layers import add_plugins, init_unreached, split_plugins


@MODELS.register_module()
class PluginMobileNetV2(MobileNetV2):
    """mmpretrain's ``MobileNetV2`` with plugins in its 7 stages.

    The network, its parameter names and its checkpoints are mmpretrain's
    (3.50M parameters with the 1000-class head); plugins are added to them.
    ``plugins`` follows mmdet's ``ResNet`` convention (``stages`` has one
    bool per stage ``layer1`` ... ``layer7``). Positions:

    - ``'after_linear'``: in every inverted residual, after the linear 1x1
      projection and its BN, before the residual addition (the SE-Net
      placement; its output channels);
    - ``'after_stage'``: one plugin on the output of the stage.

    Args:
        plugins (Sequence[dict], optional): The plugins, e.g.
            ``[dict(cfg=dict(type='SEBlock'), position='after_linear')]``.
            Default: None.
        **kwargs: The arguments of :class:`mmpretrain.models.MobileNetV2`.
    """

    positions = ('after_linear', 'after_stage')

    def __init__(self, plugins: Sequence[dict] | None = None, **kwargs):
        super().__init__(**kwargs)
        stage_plugins = split_plugins(plugins, len(self.arch_settings),
                                      self.positions, type(self).__name__)
        for i, cfgs in enumerate(stage_plugins):
            stage = getattr(self, f'layer{i + 1}')
            channels = stage[-1].conv[-1].conv.out_channels
            for block in stage:  # block.conv ends with the projection
                add_plugins(block.conv, channels, cfgs['after_linear'])
            add_plugins(stage, channels, cfgs['after_stage'])

    def init_weights(self) -> None:
        super().init_weights()
        init_unreached(self)
