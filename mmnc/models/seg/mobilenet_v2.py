"""mmseg's MobileNet-v2 with plugins: ``type='mmnc.MobileNetV2'``."""
from mmseg.models.backbones import mobilenet_v2 as _mobilenet_v2

from mmnc.models.plugin_host import MobileNetV2Plugins
from mmnc.registry import register_host


@register_host('mmseg')
class MobileNetV2(MobileNetV2Plugins, _mobilenet_v2.MobileNetV2):
    """mmseg's ``MobileNetV2`` with plugins (see ``MobileNetV2Plugins``)."""
