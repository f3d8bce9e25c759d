"""Segmentation (mmseg) modules: the ASPP-v2 head in mmengine's root MODELS;
mmseg's ResNets and MobileNet-v2 with plugins as ``mmnc.ResNetV1c``, ..."""
from mmnc.layers.plugins import BUILD_CHECKS

from . import mobilenet_v2, resnet  # noqa: F401  (register mmnc.X for mmseg)
from .aspp_v2_head import ASPPv2, ASPPv2Head
from .upstream_guard import refuse_broken_mmseg_host

if refuse_broken_mmseg_host not in BUILD_CHECKS:
    BUILD_CHECKS.append(refuse_broken_mmseg_host)

__all__ = ['ASPPv2', 'ASPPv2Head']
