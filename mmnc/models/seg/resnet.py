"""mmseg's ResNets with plugins in every block, done right (``mmnc.ResNet``).

Against mmseg's own: BasicBlocks (ResNet-18/34) take plugins at
'after_conv1' / 'after_conv2'; several plugins at one position chain (mmseg's
``Bottleneck.forward_plugin`` gives each the block's input and keeps the last
output); a ResNeXt's plugins after conv1/conv2 get its grouped width (mmseg
builds them for ``planes``). Arguments, module and parameter names are
mmseg's; the behaviour is the plugin-host library's
(:mod:`mmnc.models.plugin_host`).
"""
from mmseg.models.backbones import resnet as _resnet
from mmseg.models.backbones import resnext as _resnext

from mmnc.models.plugin_host import (
    BasicBlockPlugins,
    BlockPlugins,
    ResNetPlugins,
    with_blocks,
)
from mmnc.registry import register_host


class BasicBlock(BasicBlockPlugins, _resnet.BasicBlock):
    """mmseg's ``BasicBlock`` with plugins after conv1 and conv2."""

    zero_init_norm = 'norm2'


class Bottleneck(BlockPlugins, _resnet.Bottleneck):
    """mmseg's ``Bottleneck`` with plugins, chained; upstream's forward."""

    upstream_takes_plugins = True
    zero_init_norm = 'norm3'


class ResNeXtBottleneck(BlockPlugins, _resnext.Bottleneck):
    """mmseg's ResNeXt ``Bottleneck`` with plugins for the grouped width.
    No zero-init of norm3: mmseg's ResNeXt does not give its block one."""

    upstream_takes_plugins = True


BLOCKS = {_resnet.BasicBlock: BasicBlock, _resnet.Bottleneck: Bottleneck,
          _resnext.Bottleneck: ResNeXtBottleneck}


@register_host('mmseg')
class ResNet(ResNetPlugins, _resnet.ResNet):
    """mmseg's ``ResNet`` whose blocks all take plugins
    (``type='mmnc.ResNet'``): upstream's arguments, plus ``plugins`` as
    upstream's ResNet takes them, ``dict(cfg=..., stages=(bool, ...),
    position=...)`` with position 'after_conv1', 'after_conv2' and, in
    Bottlenecks, 'after_conv3'."""

    arch_settings = with_blocks(_resnet.ResNet.arch_settings, BLOCKS)


@register_host('mmseg')
class ResNetV1c(ResNetPlugins, _resnet.ResNetV1c):
    """mmseg's ``ResNetV1c`` (deep stem), plugins as :class:`ResNet`."""

    arch_settings = ResNet.arch_settings


@register_host('mmseg')
class ResNetV1d(ResNetPlugins, _resnet.ResNetV1d):
    """mmseg's ``ResNetV1d`` (deep stem, average-pool shortcut), plugins as
    :class:`ResNet`."""

    arch_settings = ResNet.arch_settings


@register_host('mmseg')
class ResNeXt(ResNetPlugins, _resnext.ResNeXt):
    """mmseg's ``ResNeXt`` (``groups``, ``base_width``), plugins as
    :class:`ResNet`."""

    arch_settings = with_blocks(_resnext.ResNeXt.arch_settings, BLOCKS)
