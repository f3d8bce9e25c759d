"""Segmentation (mmseg) modules: the ASPP-v2 head in mmengine's root MODELS;
mmseg's ResNets and MobileNet-v2 with plugins as ``mmnc.ResNetV1c``, ..."""
from . import mobilenet_v2, resnet  # noqa: F401  (register mmnc.X for mmseg)
from .aspp_v2_head import ASPPv2, ASPPv2Head

__all__ = ['ASPPv2', 'ASPPv2Head']
