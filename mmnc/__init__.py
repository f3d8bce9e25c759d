"""mmnc: cross-channel communication (NC) and SE plugin blocks for OpenMMLab.

``import mmnc`` (or ``custom_imports=dict(imports=['mmnc'])`` in a config)
registers every block, head and backbone in mmengine's root ``MODELS``
registry, where the mmdet, mmseg and mmpretrain scopes all find them.
"""
from . import (
    compat,  # noqa: F401  (checkpoint trust, CPU distributed)
    models,  # noqa: F401,E402  (registers host-specific modules)
)
from .layers import NCBlock, SEBlock, patch_hosts
from .version import __version__

patch_hosts()

__all__ = ['NCBlock', 'SEBlock', '__version__']
