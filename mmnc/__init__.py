"""mmnc: cross-channel communication (NC) and SE plugin blocks for OpenMMLab.

``import mmnc`` (or ``custom_imports=dict(imports=['mmnc'])`` in a config)
registers every block, head, backbone, hook and metric in mmengine's root
registries, where the mmdet, mmseg and mmpretrain scopes all find them, and the
toolboxes' networks that take plugins as ``type='mmnc.ResNet'`` & co. in
mmnc's own scope (:mod:`mmnc.registry`). It changes no
upstream behaviour, except one version-gated fix for upstream that is broken
in a supported version (:mod:`mmnc.compat`; ``MMNC_CHECKPOINT_FIX=0`` turns
it off).
"""
from . import engine, evaluation, models  # noqa: F401  (registries)
from .checkpoint_inspect import inspect_checkpoint
from .compat import fix_checkpoint_loading
from .layers import NCBlock, SEBlock
from .version import __version__

fix_checkpoint_loading()

__all__ = ['NCBlock', 'SEBlock', '__version__', 'inspect_checkpoint']
