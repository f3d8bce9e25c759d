"""Detection (mmdet) modules: ``PluginResLayer`` in the root registry;
mmdet's ResNets and MobileNet-v2 with plugins as ``mmnc.ResNet``, ..."""
from . import mobilenet_v2, resnet  # noqa: F401  (register mmnc.X for mmdet)
from .plugin_res_layer import PluginResLayer

__all__ = ['PluginResLayer']
