"""mmseg's ResNets with plugins in every block, done right (``mmnc.ResNet``).

Against mmseg's own: BasicBlocks (ResNet-18/34) take plugins at
'after_conv1' / 'after_conv2'; several plugins at one position chain (mmseg's
``Bottleneck.forward_plugin`` gives each the block's input and keeps the last
output); a ResNeXt's plugins after conv1/conv2 get its grouped width (mmseg
builds them for ``planes``). Arguments, module and parameter names are
mmseg's (:mod:`mmnc.models.plugin_resnet`).
"""
from mmseg.models.backbones import resnet as _resnet
from mmseg.models.backbones import resnext as _resnext

from mmnc.models.plugin_resnet import plugin_hosts

NAMES = ('ResNet', 'ResNetV1c', 'ResNetV1d', 'ResNeXt')
HOSTS = plugin_hosts('mmseg', _resnet, _resnext, NAMES, __name__)
ResNet, ResNetV1c, ResNetV1d, ResNeXt = (HOSTS[n] for n in NAMES)
