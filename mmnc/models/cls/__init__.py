"""Classification backbones (mmpretrain) that take NC / SE plugins.

``mmnc.ResNet``, ``mmnc.ResNeXt``, ... (:mod:`.resnet`) and
``mmnc.MobileNetV2`` are mmpretrain's networks with plugins, in mmnc's
scope; ``CifarResNet`` (ResNet-20/56/110, WRN) is in the root registry.
"""
from .cifar_resnet import CifarResNet
from .mobilenet_v2 import MobileNetV2 as PluginMobileNetV2
from .resnet import BasicBlock as PluginBasicBlock  # its former name

__all__ = ['CifarResNet', 'PluginBasicBlock', 'PluginMobileNetV2']
