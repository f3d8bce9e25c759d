from .plugin_res_layer import PluginResLayer

__all__ = ['PluginResLayer']
