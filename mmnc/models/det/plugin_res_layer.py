"""A C4 RoI shared head (ResNet stage 4) that takes backbone-style plugins."""
from typing import List

from mmdet.models.layers import ResLayer as _ResLayer
from mmdet.models.roi_heads.shared_heads import ResLayer
from mmengine.registry import MODELS

from mmnc.layers import split_plugins
from mmnc.models.drop_in import DropIn
from mmnc.models.plugin_host import BlockPlugins, block_plugins

from .resnet import ResNet


@MODELS.register_module()
class PluginResLayer(DropIn, ResLayer):
    """mmdet's ``ResLayer`` shared head plus ``plugins``, as ResNet takes them.

    mmdet's shared head takes ``dcn`` but not ``plugins`` (mmdet#1031). This
    one takes the backbone's plugin list unchanged: an entry applies if its
    ``stages`` flag for this head's ``stage`` is set (or it has no
    ``stages``), at ``position`` 'after_conv1', 'after_conv2' or
    'after_conv3' of every Bottleneck (:class:`mmnc.models.det.resnet.
    Bottleneck`). Parameter names equal mmdet's, so the same pretrained
    checkpoints load. A drop-in (:mod:`mmnc.models.drop_in`): mmdet's
    arguments, positional too, plus ``plugins`` and ``base_channels``.

    Args:
        plugins (list[dict], optional): As in
            :class:`mmdet.models.backbones.ResNet`, e.g.
            ``[dict(cfg=dict(type='NCBlock'), stages=(False, False, False,
            True), position='after_conv3')]``. Default: None.
        base_channels (int): The backbone's ``base_channels``, for a
            narrowed ResNet (its stage ``i`` has ``base_channels * 2**i``
            planes). Default: 64.
        **kwargs: The arguments of
            :class:`mmdet.models.roi_heads.shared_heads.ResLayer`.

    Raises:
        ArgumentError: ``plugins`` as :class:`mmnc.models.det.ResNet`.
    """

    drop_in_extras = dict(plugins=None, base_channels=64)

    def __init__(self, *args, plugins: List[dict] | None = None,
                 base_channels: int = 64, **kwargs):
        depth = self.upstream_arguments(args, kwargs)['depth']
        super().__init__(*args, **kwargs)
        stages = split_plugins(plugins, 4, BlockPlugins.plugin_positions,
                               type(self).__name__)
        self.plugins = block_plugins(stages[self.stage]) or []
        if not self.plugins and base_channels == 64:
            return
        # Rebuild the stage, mirroring ResLayer.__init__.
        block, stage_blocks = ResNet.arch_settings[depth]
        first = getattr(self, f'layer{self.stage + 1}')[0]
        planes = base_channels * 2**self.stage
        self.add_module(
            f'layer{self.stage + 1}',
            _ResLayer(
                block,
                planes // 2 * block.expansion,
                planes,
                stage_blocks[self.stage],
                stride=first.stride,
                dilation=first.dilation,
                style=first.style,
                with_cp=first.with_cp,
                norm_cfg=self.norm_cfg,
                dcn=first.dcn,
                plugins=self.plugins))
