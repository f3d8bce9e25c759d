"""Segmentation (mmseg) modules, registered in mmengine's root MODELS."""
from .aspp_v2_head import ASPPv2, ASPPv2Head

__all__ = ['ASPPv2', 'ASPPv2Head']
