"""mmdet's ResNets with plugins in every block: ``type='mmnc.ResNet'``.

mmdet's own ``ResNet`` takes plugins in its Bottlenecks only; these take
them in BasicBlocks too (ResNet-18/34: 'after_conv1', 'after_conv2').
Arguments, module and parameter names are mmdet's; the behaviour is the
plugin-host library's (:mod:`mmnc.models.plugin_host`).
"""
from mmdet.models.backbones import resnet as _resnet
from mmdet.models.backbones import resnext as _resnext

from mmnc.models.plugin_host import (
    BasicBlockPlugins,
    BlockPlugins,
    ResNetPlugins,
    with_blocks,
)
from mmnc.registry import register_host


class BasicBlock(BasicBlockPlugins, _resnet.BasicBlock):
    """mmdet's ``BasicBlock`` with plugins after conv1 and conv2."""

    zero_init_norm = 'norm2'


class Bottleneck(BlockPlugins, _resnet.Bottleneck):
    """mmdet's ``Bottleneck`` with plugins, chained; upstream's forward."""

    upstream_takes_plugins = True
    zero_init_norm = 'norm3'


class ResNeXtBottleneck(BlockPlugins, _resnext.Bottleneck):
    """mmdet's ResNeXt ``Bottleneck`` with plugins for the grouped width.
    No zero-init of norm3: mmdet's ResNeXt does not give its block one."""

    upstream_takes_plugins = True


BLOCKS = {_resnet.BasicBlock: BasicBlock, _resnet.Bottleneck: Bottleneck,
          _resnext.Bottleneck: ResNeXtBottleneck}


@register_host('mmdet')
class ResNet(ResNetPlugins, _resnet.ResNet):
    """mmdet's ``ResNet`` whose blocks all take plugins
    (``type='mmnc.ResNet'``): upstream's arguments, plus ``plugins`` as
    upstream's ResNet takes them, ``dict(cfg=..., stages=(bool, ...),
    position=...)`` with position 'after_conv1', 'after_conv2' and, in
    Bottlenecks, 'after_conv3'."""

    arch_settings = with_blocks(_resnet.ResNet.arch_settings, BLOCKS)


@register_host('mmdet')
class ResNetV1d(ResNetPlugins, _resnet.ResNetV1d):
    """mmdet's ``ResNetV1d`` (deep stem, average-pool shortcut), plugins as
    :class:`ResNet`."""

    arch_settings = ResNet.arch_settings


@register_host('mmdet')
class ResNeXt(ResNetPlugins, _resnext.ResNeXt):
    """mmdet's ``ResNeXt`` (``groups``, ``base_width``), plugins as
    :class:`ResNet`."""

    arch_settings = with_blocks(_resnext.ResNeXt.arch_settings, BLOCKS)
