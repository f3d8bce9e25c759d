"""Classification backbones (mmpretrain) that take NC / SE plugins.

ImageNet ResNet / ResNeXt need no class of their own: mmdet's ``ResNet`` and
``ResNeXt`` take plugins in their Bottleneck (``type='mmdet.ResNeXt'`` in an
mmpretrain config).
"""
from .cifar_resnet import CifarResNet, PluginBasicBlock
from .mobilenet_v2 import PluginMobileNetV2
from .plugins import add_plugins, init_unreached, split_plugins

__all__ = [
    'CifarResNet', 'PluginBasicBlock', 'PluginMobileNetV2', 'add_plugins',
    'init_unreached', 'split_plugins'
]
