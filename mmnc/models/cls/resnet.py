"""mmpretrain's ResNet family with plugins: ``type='mmnc.ResNet'``.

mmpretrain's ``ResNet``, ``ResNetV1c``, ``ResNetV1d``, ``ResNeXt``,
``SEResNet``, ``SEResNeXt`` and ``ResNet_CIFAR`` take no ``plugins``; these
subclasses take mmdet's list, ``dict(cfg=..., stages=(bool, ...),
position=...)``, with mmdet's positions: 'after_conv1', 'after_conv2' and,
in Bottlenecks, 'after_conv3' (after the last BN, and after an SE-ResNet's
own SE layer, before the residual addition). Arguments, module and parameter
names are mmpretrain's, so its checkpoints load (missing keys: the
plugins').
"""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmpretrain.models.backbones import resnet as _resnet
from mmpretrain.models.backbones import resnet_cifar as _resnet_cifar
from mmpretrain.models.backbones import resnext as _resnext
from mmpretrain.models.backbones import seresnet as _seresnet
from mmpretrain.models.backbones import seresnext as _seresnext

from mmnc.layers import add_plugins, init_unreached, split_plugins
from mmnc.models.drop_in import DropIn
from mmnc.registry import register_host

StagePlugins = Dict[str, List[dict]]


class _BlockPlugins:
    """Plugins in an mmpretrain block, built once the block is complete
    (ResNeXt's changes its widths after its parent's ``__init__``), for the
    channels of the conv before each position, and chained in order.

    Args:
        plugins (dict[str, list[dict]], optional): Plugin cfgs by position,
            as :func:`mmnc.layers.split_plugins` gives them for one stage;
            positions the block does not have are ignored (the host checks
            them). Default: None.
    """

    plugin_positions: Sequence[str] = ()

    def __init__(self, *args, plugins: StagePlugins | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        plugins = plugins or {}
        for position in self.plugin_positions:
            conv = getattr(self, f'conv{position[-1]}')
            setattr(self, f'{position}_plugin_names',
                    add_plugins(self, conv.out_channels,
                                plugins.get(position, ())))

    def forward_plugin(self, x: torch.Tensor,
                       plugin_names: Sequence[str]) -> torch.Tensor:
        for name in plugin_names:
            x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        else:
            out = self._inner_forward(x)
        return self.relu(out)


class BasicBlock(_BlockPlugins, _resnet.BasicBlock):
    """mmpretrain's ``BasicBlock`` with plugins after conv1-bn1-relu and
    after bn2 (before the residual addition, the SE-Net placement)."""

    plugin_positions = ('after_conv1', 'after_conv2')

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.forward_plugin(out, self.after_conv1_plugin_names)
        out = self.norm2(self.conv2(out))
        out = self.forward_plugin(out, self.after_conv2_plugin_names)
        identity = x if self.downsample is None else self.downsample(x)
        return self.drop_path(out) + identity


class Bottleneck(_BlockPlugins, _resnet.Bottleneck):
    """mmpretrain's ``Bottleneck`` with plugins after conv1-bn1-relu,
    conv2-bn2-relu and bn3 (before the residual addition)."""

    plugin_positions = ('after_conv1', 'after_conv2', 'after_conv3')

    def _branch_end(self, out: torch.Tensor) -> torch.Tensor:
        """What the block does to bn3's output before 'after_conv3'."""
        return out

    def _drop_path(self, out: torch.Tensor) -> torch.Tensor:
        return self.drop_path(out)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.forward_plugin(out, self.after_conv1_plugin_names)
        out = self.relu(self.norm2(self.conv2(out)))
        out = self.forward_plugin(out, self.after_conv2_plugin_names)
        out = self._branch_end(self.norm3(self.conv3(out)))
        out = self.forward_plugin(out, self.after_conv3_plugin_names)
        identity = x if self.downsample is None else self.downsample(x)
        return self._drop_path(out) + identity


class ResNeXtBottleneck(Bottleneck, _resnext.Bottleneck):
    """mmpretrain's ResNeXt ``Bottleneck``; plugins after conv1/conv2 get
    the grouped width."""


class _SEBottleneck(Bottleneck):
    """SE-ResNet's: its own SE layer after bn3, then the plugins; no drop
    path, as upstream's ``SEBottleneck.forward``, which ignores it."""

    def _branch_end(self, out: torch.Tensor) -> torch.Tensor:
        return self.se_layer(out)

    def _drop_path(self, out: torch.Tensor) -> torch.Tensor:
        return out


class SEBottleneck(_SEBottleneck, _seresnet.SEBottleneck):
    """mmpretrain's SE-ResNet ``SEBottleneck`` with plugins."""


class SEResNeXtBottleneck(_SEBottleneck, _seresnext.SEBottleneck):
    """mmpretrain's SE-ResNeXt ``SEBottleneck`` with plugins."""


_BLOCKS = {
    _resnet.BasicBlock: BasicBlock,
    _resnet.Bottleneck: Bottleneck,
    _resnext.Bottleneck: ResNeXtBottleneck,
    _seresnet.SEBottleneck: SEBottleneck,
    _seresnext.SEBottleneck: SEResNeXtBottleneck,
}


def with_blocks(arch_settings: dict) -> dict:
    """``arch_settings`` of an mmpretrain ResNet with plugin-capable
    blocks."""
    return {depth: (_BLOCKS[block], stage_blocks)
            for depth, (block, stage_blocks) in arch_settings.items()}


class _ResNetPlugins(DropIn):
    """A host with upstream's arguments plus ``plugins`` (a drop-in,
    :mod:`mmnc.models.drop_in`): checks ``plugins`` and hands each stage's
    to its blocks."""

    def __init__(self, *args, plugins: Sequence[dict] | None = None,
                 **kwargs):
        named = self.upstream_arguments(args, kwargs)
        depth = named.get('depth')
        setting = self.arch_settings.get(depth)
        positions = setting[0].plugin_positions if setting else ()
        self._stage_plugins = split_plugins(
            plugins if setting else None, named.get('num_stages', 4),
            positions, f'mmnc.{type(self).__name__}-{depth}')
        self.plugins = plugins
        super().__init__(*args, **kwargs)  # "invalid depth" there

    def make_res_layer(self, **kwargs) -> nn.Sequential:
        plugins = self._stage_plugins[len(self.res_layers)]
        return super().make_res_layer(plugins=plugins, **kwargs)

    def init_weights(self) -> None:
        super().init_weights()
        init_unreached(self)  # plugins below mmpretrain's plain ResLayer


@register_host('mmpretrain')
class ResNet(_ResNetPlugins, _resnet.ResNet):
    """mmpretrain's ``ResNet`` with plugins in its blocks.

    Args:
        depth (int): 18, 34 (BasicBlocks), 50, 101, 152 (Bottlenecks).
        plugins (list[dict], optional): ``dict(cfg=..., stages=(bool, ...),
            position=...)`` entries as mmdet's ResNet takes them
            (``stages``, one flag per stage, defaults to all stages), e.g.
            ``[dict(cfg=dict(type='NCBlock'), stages=(False, False, False,
            True), position='after_conv3')]``. Default: None.
        **kwargs: The other arguments of mmpretrain's ``ResNet``.
    """

    arch_settings = with_blocks(_resnet.ResNet.arch_settings)


@register_host('mmpretrain')
class ResNetV1c(_ResNetPlugins, _resnet.ResNetV1c):
    """mmpretrain's ``ResNetV1c`` (deep stem), plugins as :class:`ResNet`."""

    arch_settings = ResNet.arch_settings


@register_host('mmpretrain')
class ResNetV1d(_ResNetPlugins, _resnet.ResNetV1d):
    """mmpretrain's ``ResNetV1d``, plugins as :class:`ResNet`."""

    arch_settings = ResNet.arch_settings


@register_host('mmpretrain')
class ResNeXt(_ResNetPlugins, _resnext.ResNeXt):
    """mmpretrain's ``ResNeXt`` (``groups``, ``width_per_group``), plugins
    as :class:`ResNet`."""

    arch_settings = with_blocks(_resnext.ResNeXt.arch_settings)


@register_host('mmpretrain')
class SEResNet(_ResNetPlugins, _seresnet.SEResNet):
    """mmpretrain's ``SEResNet``, plugins as :class:`ResNet` ('after_conv3'
    after its own SE layer)."""

    arch_settings = with_blocks(_seresnet.SEResNet.arch_settings)


@register_host('mmpretrain')
class SEResNeXt(_ResNetPlugins, _seresnext.SEResNeXt):
    """mmpretrain's ``SEResNeXt``, plugins as :class:`SEResNet`."""

    arch_settings = with_blocks(_seresnext.SEResNeXt.arch_settings)


@register_host('mmpretrain')
class ResNet_CIFAR(_ResNetPlugins, _resnet_cifar.ResNet_CIFAR):
    """mmpretrain's ``ResNet_CIFAR``, plugins as :class:`ResNet`."""

    arch_settings = ResNet.arch_settings
