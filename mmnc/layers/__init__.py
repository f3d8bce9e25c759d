from .convs_block import ConvsBlock
from .nc_block import NCBlock, nc_message
from .plugins import (
                      add_plugins,
                      build_plugin_layer,
                      check_plugin_type,
                      check_plugins,
                      init_unreached,
                      split_plugins,
)
from .se_block import SEBlock

__all__ = [
    'NCBlock', 'SEBlock', 'ConvsBlock', 'nc_message', 'add_plugins',
    'build_plugin_layer', 'check_plugin_type', 'check_plugins',
    'init_unreached', 'split_plugins'
]
