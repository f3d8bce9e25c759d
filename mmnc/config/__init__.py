"""Configs: where mmnc's are (:mod:`.locate`, ``python -m mmnc.config``),
the checks run before a runner is built (:mod:`.checks`) and the config as
the tools run it (:mod:`.load`). ``import mmnc`` does not import this."""
from .checks import check_datasets, check_plugin_config
from .load import enable_visualization, load_config, work_dir_for
from .locate import config_dir, config_names, config_path

__all__ = [
    'check_datasets', 'check_plugin_config', 'enable_visualization',
    'load_config', 'work_dir_for', 'config_dir', 'config_names', 'config_path'
]
