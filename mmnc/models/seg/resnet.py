"""mmseg's ResNets with plugins in every block, done right (``mmnc.ResNet``).

Against mmseg's own: BasicBlocks (ResNet-18/34) take plugins at
'after_conv1' / 'after_conv2'; several plugins at one position chain (mmseg's
``Bottleneck.forward_plugin`` gives each the block's input and keeps the last
output); a ResNeXt's plugins after conv1/conv2 get its grouped width (mmseg
builds them for ``planes``). Arguments, module and parameter names are
mmseg's.
"""
from mmseg.models.backbones import resnet as _resnet
from mmseg.models.backbones import resnext as _resnext

from mmnc.models.plugin_resnet import (
    BasicBlockPlugins,
    BottleneckPlugins,
    ResNetPlugins,
    with_blocks,
)
from mmnc.registry import register_host


class BasicBlock(BasicBlockPlugins, _resnet.BasicBlock):
    """mmseg's ``BasicBlock`` with plugins after conv1 and conv2."""


class Bottleneck(BottleneckPlugins, _resnet.Bottleneck):
    """mmseg's ``Bottleneck`` whose plugins chain."""


class ResNeXtBottleneck(BottleneckPlugins, _resnext.Bottleneck):
    """mmseg's ResNeXt ``Bottleneck`` whose plugins chain and get the
    grouped width after conv1 and conv2."""

    zero_init_norm = None  # mmseg's ResNeXt does not zero-init it


_BLOCKS = {_resnet.BasicBlock: BasicBlock, _resnet.Bottleneck: Bottleneck}


@register_host('mmseg')
class ResNet(ResNetPlugins, _resnet.ResNet):
    """mmseg's ``ResNet`` whose blocks all take plugins, chained.

    Args:
        plugins (list[dict], optional): As mmseg's ResNet takes them:
            ``dict(cfg=..., stages=(bool, ...), position=...)`` with
            position 'after_conv1', 'after_conv2' and, in Bottlenecks,
            'after_conv3'. Default: None.
        **kwargs: The other arguments of mmseg's ``ResNet``.
    """

    arch_settings = with_blocks(_resnet.ResNet.arch_settings, _BLOCKS)


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
    :class:`ResNet`, built for the grouped width."""

    arch_settings = with_blocks(_resnext.ResNeXt.arch_settings,
                                {_resnext.Bottleneck: ResNeXtBottleneck})
