"""mmpretrain's ResNet family with plugins: ``type='mmnc.ResNet'``.

mmpretrain's ``ResNet``, ``ResNetV1c``, ``ResNetV1d``, ``ResNeXt``,
``SEResNet``, ``SEResNeXt`` and ``ResNet_CIFAR`` take no ``plugins``; these
subclasses take mmdet's list, ``dict(cfg=..., stages=(bool, ...),
position=...)``, with mmdet's positions: 'after_conv1', 'after_conv2' and,
in Bottlenecks, 'after_conv3' (after the last BN, and after an SE-ResNet's
own SE layer, before the residual addition). Arguments, module and parameter
names are mmpretrain's, so its checkpoints load (missing keys: the
plugins'); the behaviour is the plugin-host library's
(:mod:`mmnc.models.plugin_host`).
"""
import torch
from mmpretrain.models.backbones import resnet as _resnet
from mmpretrain.models.backbones import resnet_cifar as _resnet_cifar
from mmpretrain.models.backbones import resnext as _resnext
from mmpretrain.models.backbones import seresnet as _seresnet
from mmpretrain.models.backbones import seresnext as _seresnext

from mmnc.models.plugin_host import (
    BasicBlockPlugins,
    BottleneckPlugins,
    ResNetPlugins,
    with_blocks,
)
from mmnc.registry import register_host


class BasicBlock(BasicBlockPlugins, _resnet.BasicBlock):
    """mmpretrain's ``BasicBlock`` with plugins after conv1-bn1-relu and
    after bn2 (before the residual addition, the SE-Net placement)."""


class Bottleneck(BottleneckPlugins, _resnet.Bottleneck):
    """mmpretrain's ``Bottleneck`` with plugins after conv1-bn1-relu,
    conv2-bn2-relu and bn3 (before the residual addition)."""


class ResNeXtBottleneck(BottleneckPlugins, _resnext.Bottleneck):
    """mmpretrain's ResNeXt ``Bottleneck``; plugins after conv1/conv2 get
    the grouped width."""


class _SEBlockPlugins(BottleneckPlugins):
    """Differs from mmpretrain's plain Bottleneck: SE-ResNet's own SE layer
    runs after bn3 (then the plugins), and no drop path, as upstream's
    ``SEBottleneck.forward``, which ignores it."""

    def _branch_end(self, out: torch.Tensor) -> torch.Tensor:
        return self.se_layer(out)

    def _add_identity(self, out: torch.Tensor,
                      x: torch.Tensor) -> torch.Tensor:
        return out + (x if self.downsample is None else self.downsample(x))


class SEBottleneck(_SEBlockPlugins, _seresnet.SEBottleneck):
    """mmpretrain's SE-ResNet ``SEBottleneck`` with plugins."""


class SEResNeXtBottleneck(_SEBlockPlugins, _seresnext.SEBottleneck):
    """mmpretrain's SE-ResNeXt ``SEBottleneck`` with plugins."""


BLOCKS = {_resnet.BasicBlock: BasicBlock, _resnet.Bottleneck: Bottleneck,
          _resnext.Bottleneck: ResNeXtBottleneck,
          _seresnet.SEBottleneck: SEBottleneck,
          _seresnext.SEBottleneck: SEResNeXtBottleneck}


@register_host('mmpretrain')
class ResNet(ResNetPlugins, _resnet.ResNet):
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

    arch_settings = with_blocks(_resnet.ResNet.arch_settings, BLOCKS)


@register_host('mmpretrain')
class ResNetV1c(ResNetPlugins, _resnet.ResNetV1c):
    """mmpretrain's ``ResNetV1c`` (deep stem), plugins as :class:`ResNet`."""

    arch_settings = ResNet.arch_settings


@register_host('mmpretrain')
class ResNetV1d(ResNetPlugins, _resnet.ResNetV1d):
    """mmpretrain's ``ResNetV1d``, plugins as :class:`ResNet`."""

    arch_settings = ResNet.arch_settings


@register_host('mmpretrain')
class ResNeXt(ResNetPlugins, _resnext.ResNeXt):
    """mmpretrain's ``ResNeXt`` (``groups``, ``width_per_group``), plugins
    as :class:`ResNet`."""

    arch_settings = with_blocks(_resnext.ResNeXt.arch_settings, BLOCKS)


@register_host('mmpretrain')
class SEResNet(ResNetPlugins, _seresnet.SEResNet):
    """mmpretrain's ``SEResNet``, plugins as :class:`ResNet` ('after_conv3'
    after its own SE layer)."""

    arch_settings = with_blocks(_seresnet.SEResNet.arch_settings, BLOCKS)


@register_host('mmpretrain')
class SEResNeXt(ResNetPlugins, _seresnext.SEResNeXt):
    """mmpretrain's ``SEResNeXt``, plugins as :class:`SEResNet`."""

    arch_settings = with_blocks(_seresnext.SEResNeXt.arch_settings, BLOCKS)


@register_host('mmpretrain')
class ResNet_CIFAR(ResNetPlugins, _resnet_cifar.ResNet_CIFAR):
    """mmpretrain's ``ResNet_CIFAR``, plugins as :class:`ResNet`."""

    arch_settings = ResNet.arch_settings
