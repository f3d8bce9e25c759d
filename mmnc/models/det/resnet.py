"""mmdet's ResNets with plugins in every block: ``type='mmnc.ResNet'``.

mmdet's own ``ResNet`` takes plugins in its Bottlenecks only; these take
them in BasicBlocks too (ResNet-18/34: 'after_conv1', 'after_conv2').
Arguments, module and parameter names are mmdet's.
"""
from mmdet.models.backbones import resnet as _resnet
from mmdet.models.backbones import resnext as _resnext

from mmnc.models.plugin_resnet import (
    BasicBlockPlugins,
    BottleneckPlugins,
    ResNetPlugins,
    with_blocks,
)
from mmnc.registry import register_host


class BasicBlock(BasicBlockPlugins, _resnet.BasicBlock):
    """mmdet's ``BasicBlock`` with plugins after conv1 and conv2."""


class Bottleneck(BottleneckPlugins, _resnet.Bottleneck):
    """mmdet's ``Bottleneck`` with plugins (built as mmdet builds them)."""


class ResNeXtBottleneck(BottleneckPlugins, _resnext.Bottleneck):
    """mmdet's ResNeXt ``Bottleneck`` with plugins."""

    zero_init_norm = None  # mmdet's ResNeXt does not zero-init it


_BLOCKS = {_resnet.BasicBlock: BasicBlock, _resnet.Bottleneck: Bottleneck}


@register_host('mmdet')
class ResNet(ResNetPlugins, _resnet.ResNet):
    """mmdet's ``ResNet`` whose BasicBlocks take plugins too.

    Args:
        plugins (list[dict], optional): As mmdet's ResNet takes them:
            ``dict(cfg=..., stages=(bool, ...), position=...)`` with
            position 'after_conv1', 'after_conv2' and, in Bottlenecks,
            'after_conv3'. Default: None.
        **kwargs: The other arguments of mmdet's ``ResNet``.
    """

    arch_settings = with_blocks(_resnet.ResNet.arch_settings, _BLOCKS)


@register_host('mmdet')
class ResNetV1d(ResNetPlugins, _resnet.ResNetV1d):
    """mmdet's ``ResNetV1d`` (deep stem, average-pool shortcut), plugins as
    :class:`ResNet`."""

    arch_settings = ResNet.arch_settings


@register_host('mmdet')
class ResNeXt(ResNetPlugins, _resnext.ResNeXt):
    """mmdet's ``ResNeXt`` (``groups``, ``base_width``), plugins as
    :class:`ResNet`."""

    arch_settings = with_blocks(_resnext.ResNeXt.arch_settings,
                                {_resnext.Bottleneck: ResNeXtBottleneck})
