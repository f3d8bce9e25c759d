"""mmpretrain's MobileNet-v2 with plugins: ``type='mmnc.MobileNetV2'``."""
from mmengine.registry import MODELS
from mmpretrain.models.backbones import mobilenet_v2 as _mobilenet_v2

from mmnc.models.plugin_host import MobileNetV2Plugins
from mmnc.registry import register_host


@register_host('mmpretrain')
class MobileNetV2(MobileNetV2Plugins, _mobilenet_v2.MobileNetV2):
    """mmpretrain's ``MobileNetV2`` with plugins (``MobileNetV2Plugins``)."""


# The name before ``mmnc.MobileNetV2``, kept for configs that use it.
MODELS.register_module(name='PluginMobileNetV2', module=MobileNetV2)
