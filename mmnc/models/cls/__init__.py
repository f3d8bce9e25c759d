"""Classification backbones (mmpretrain) that take NC / SE plugins.

ImageNet ResNet / ResNeXt need no class of their own: mmdet's ``ResNet`` and
``ResNeXt`` take plugins in their Bottleneck (``type='mmdet.ResNeXt'`` in an
mmpretrain config).
"""
from .cifar_resnet import CifarResNet, PluginBasicBlock
from .mobilenet_v2 import PluginMobileNetV2

__all__ = ['CifarResNet', 'PluginBasicBlock', 'PluginMobileNetV2']
