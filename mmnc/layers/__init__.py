from .builder import build_plugin_layer, check_plugins, patch_hosts
from .nc_block import NCBlock, nc_message
from .se_block import SEBlock

__all__ = [
    'NCBlock', 'SEBlock', 'nc_message', 'build_plugin_layer', 'check_plugins',
    'patch_hosts'
]
