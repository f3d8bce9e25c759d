"""Segmentation (mmseg) modules: the ASPP-v2 head in mmengine's root MODELS;
mmseg's ResNets and MobileNet-v2 with plugins as ``mmnc.ResNetV1c``, ...;
the guard for mmseg's own ResNets (:mod:`.upstream_guard`)."""
from . import mobilenet_v2, resnet  # noqa: F401  (register mmnc.X for mmseg)
from .aspp_v2_head import ASPPv2, ASPPv2Head
from .upstream_guard import check_mmseg_model

__all__ = ['ASPPv2', 'ASPPv2Head', 'check_mmseg_model']
