"""The plugin-host library: what makes a toolbox's network take plugins.

Each ``mmnc.<Host>`` is a ``class`` statement in ``mmnc/models/<det|seg|cls>/``
that puts one mixin below before the toolbox's class. :class:`BlockPlugins`:
a block's plugins at 'after_conv1/2/3', built for the conv before them once
the block is complete, chained in order (the one ``forward_plugin``).
:class:`PluginBackbone`: upstream's arguments (:mod:`.drop_in`) plus
``plugins``, split by stage before upstream builds; :class:`ResNetPlugins`
and :class:`MobileNetV2Plugins` hand them to blocks and stages. Module and
parameter names stay upstream's, so checkpoints load; what upstream asserts
raises :class:`mmnc.errors.ArgumentError`.
"""
import copy
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp

from mmnc.layers import (
    add_plugins,
    check_plugins,
    init_unreached,
    split_plugins,
)
from mmnc.models.drop_in import DropIn, upstream_class

StagePlugins = Dict[str, List[dict]]


def with_blocks(arch_settings: dict, blocks: Dict[type, type]) -> dict:
    """``arch_settings`` of an upstream ResNet with each block class
    replaced by ``blocks[upstream class]``."""
    return {depth: (blocks[block], stage_blocks)
            for depth, (block, stage_blocks) in arch_settings.items()}


def block_plugins(stage: StagePlugins) -> List[dict] | None:
    """One stage's cfgs by position as a block takes them,
    ``[dict(cfg=..., position=...)]`` (mmdet's ``ResLayer`` form), or None
    if there are none."""
    return [dict(cfg=cfg, position=position)
            for position, cfgs in stage.items() for cfg in cfgs] or None


class BlockPlugins:
    """A residual block with plugins after its convs.

    Args:
        plugins (list[dict], optional): ``dict(cfg=..., position=...)``
            entries, as mmdet's ``ResLayer`` gives a block. Default: None.

    Raises:
        ArgumentError: An entry without ``cfg``/``position`` or at a
            position the block lacks (upstream asserts).
    """

    plugin_positions: Sequence[str] = ('after_conv1', 'after_conv2',
                                       'after_conv3')
    upstream_takes_plugins = False
    """True where upstream's block takes ``plugins`` and its forward runs
    them (mmdet's and mmseg's ``Bottleneck``); they are built here all the
    same (upstream's ``make_block_plugins`` builds nothing)."""
    zero_init_norm: str | None = None
    """The BN an mmdet/mmseg host zero-inits (:class:`ResNetPlugins`)."""

    def __init__(self, *args, plugins: List[dict] | None = None, **kwargs):
        check_plugins(plugins, self.plugin_positions,
                      host=type(self).__name__)
        if self.upstream_takes_plugins:
            kwargs['plugins'] = plugins
        super().__init__(*args, **kwargs)
        self.plugins = plugins
        self.with_plugins = bool(plugins)
        for position in self.plugin_positions:
            conv = getattr(self, f'conv{position[-1]}')
            cfgs = [p['cfg'] for p in plugins or ()
                    if p['position'] == position]
            setattr(self, f'{position}_plugins', cfgs)
            setattr(self, f'{position}_plugin_names',
                    add_plugins(self, conv.out_channels, cfgs))

    def make_block_plugins(self, in_channels: int,
                           plugins: List[dict]) -> List[str]:
        """Build nothing yet: upstream calls this before the block is
        complete (ResNeXt then changes the widths); ``__init__`` builds."""
        return []

    def forward_plugin(self, x: torch.Tensor,
                       plugin_names: Sequence[str]) -> torch.Tensor:
        """The plugins ``plugin_names`` in order, each on the last's
        output."""
        for name in plugin_names:
            x = getattr(self, name)(x)
        return x



class _PluginForward(BlockPlugins):
    """The forward of a block whose upstream forward runs no plugins:
    ``_inner_forward`` (with ``with_cp``, recomputed in backward), the
    residual addition, the last ReLU."""

    def _add_identity(self, out: torch.Tensor,
                      x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        drop_path = getattr(self, 'drop_path', None)  # mmpretrain's blocks
        return (out if drop_path is None else drop_path(out)) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        else:
            out = self._inner_forward(x)
        return self.relu(out)


class BasicBlockPlugins(_PluginForward):
    """Plugins after conv1-bn1-relu and after bn2 (before the residual
    addition, the SE-Net placement); upstream's BasicBlocks take none."""

    plugin_positions = ('after_conv1', 'after_conv2')

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.forward_plugin(out, self.after_conv1_plugin_names)
        out = self.norm2(self.conv2(out))
        out = self.forward_plugin(out, self.after_conv2_plugin_names)
        return self._add_identity(out, x)


class BottleneckPlugins(_PluginForward):
    """Plugins after conv1-bn1-relu, conv2-bn2-relu and bn3 (before the
    residual addition), for Bottlenecks whose upstream forward runs none
    (mmpretrain's)."""

    def _branch_end(self, out: torch.Tensor) -> torch.Tensor:
        """What the block does to bn3's output before 'after_conv3'."""
        return out

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.forward_plugin(out, self.after_conv1_plugin_names)
        out = self.relu(self.norm2(self.conv2(out)))
        out = self.forward_plugin(out, self.after_conv2_plugin_names)
        out = self._branch_end(self.norm3(self.conv3(out)))
        out = self.forward_plugin(out, self.after_conv3_plugin_names)
        return self._add_identity(out, x)


class PluginBackbone(DropIn):
    """A backbone with upstream's arguments plus ``plugins``
    (``dict(cfg=..., stages=(bool, ...), position=...)``, mmdet's
    convention), split by stage into ``self._stage_plugins`` before upstream
    builds.

    Raises:
        ArgumentError: A malformed entry, a position the host lacks, a
            ``stages`` tuple of the wrong length.
    """

    def __init__(self, *args, **kwargs):
        named = self.upstream_arguments(args, kwargs)
        plugins = named.pop('plugins', None)
        self._stage_plugins = self.split_plugins(plugins, named)
        super().__init__(**named)
        self.plugins = plugins
        self.after_build(named)

    def split_plugins(self, plugins: Sequence[dict] | None,
                      named: dict) -> List[StagePlugins] | None:
        """Per stage, the plugin cfgs by position."""

    def after_build(self, named: dict) -> None:
        """What the host does once upstream has built it."""

    def init_weights(self) -> None:
        super().init_weights()
        init_unreached(self)  # plugins below a plain nn.Sequential


class ResNetPlugins(PluginBackbone):
    """A ResNet whose ``arch_settings`` hold :class:`BlockPlugins` blocks;
    each stage's plugins go to its blocks."""

    def split_plugins(self, plugins, named):
        depth = named.get('depth')
        if depth not in self.arch_settings:
            return None  # upstream says "invalid depth"
        block = self.arch_settings[depth][0]
        return split_plugins(
            plugins, named.get('num_stages', 4), block.plugin_positions,
            f'mmnc.{type(self).__name__}-{depth} '
            f'({upstream_class(block).__name__}s)')

    def make_res_layer(self, **kwargs) -> nn.Module:
        stage = self._stage_plugins[len(self.res_layers)]
        return super().make_res_layer(**dict(kwargs,
                                             plugins=block_plugins(stage)))

    def after_build(self, named: dict) -> None:
        """mmdet's and mmseg's ResNets zero-init the last BN of their blocks
        when no init_cfg or pretrained is given, only if the block class
        *is* theirs; same here for ours (``zero_init_norm``; mmpretrain's
        ResNet checks ``isinstance`` itself: its blocks have None)."""
        norm = self.block.zero_init_norm
        if (norm is None or named.get('init_cfg') is not None
                or named.get('pretrained') is not None
                or not named.get('zero_init_residual', True)):
            return
        cfg = dict(type='Constant', val=0, override=dict(name=norm))
        for name in self.res_layers:
            for block in getattr(self, name):
                block.init_cfg = copy.deepcopy(cfg)


class MobileNetV2Plugins(PluginBackbone):
    """A MobileNet-v2 (stages ``layer1`` ... ``layer7``) with plugins.

    Sandler et al., *MobileNetV2: Inverted Residuals and Linear
    Bottlenecks*, CVPR 2018, https://arxiv.org/abs/1801.04381. ``stages``
    has one bool per stage. Positions:

    - ``'after_linear'``: in every inverted residual, after the linear 1x1
      projection and its BN, before the residual addition (the SE-Net
      placement; its output channels);
    - ``'after_stage'``: one plugin on the output of the stage.
    """

    plugin_positions = ('after_linear', 'after_stage')

    def split_plugins(self, plugins, named):
        return split_plugins(plugins, len(self.arch_settings),
                             self.plugin_positions,
                             f'mmnc.{type(self).__name__}')

    def after_build(self, named: dict) -> None:
        for i, cfgs in enumerate(self._stage_plugins):
            stage = getattr(self, f'layer{i + 1}')
            channels = self.block_channels(stage[-1])  # before adding any
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
