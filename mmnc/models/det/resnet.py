"""mmdet's ResNets with plugins in every block: ``type='mmnc.ResNet'``.

mmdet's own ``ResNet`` takes plugins in its Bottlenecks only; these take
them in BasicBlocks too (ResNet-18/34: 'after_conv1', 'after_conv2').
Arguments, module and parameter names are mmdet's
(:mod:`mmnc.models.plugin_resnet`).
"""
from mmdet.models.backbones import resnet as _resnet
from mmdet.models.backbones import resnext as _resnext

from mmnc.models.plugin_resnet import plugin_hosts

NAMES = ('ResNet', 'ResNetV1d', 'ResNeXt')  # mmdet has no ResNetV1c
HOSTS = plugin_hosts('mmdet', _resnet, _resnext, NAMES, __name__)
ResNet, ResNetV1d, ResNeXt = (HOSTS[n] for n in NAMES)
