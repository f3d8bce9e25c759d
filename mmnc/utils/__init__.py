"""Helpers of the project's tools (``tools/train.py``, ``tools/test.py``):
CPU distributed runs, the runner, the test run. The config helpers are in
:mod:`mmnc.config`.

Nothing here is imported by ``import mmnc``, and model code never imports it.
"""
import warnings

from .dist import destroy_cpu_distributed, init_cpu_distributed, sync_bn_to_bn
from .runner import build_runner
from .test_run import run_test

__all__ = [
    'init_cpu_distributed', 'destroy_cpu_distributed', 'sync_bn_to_bn',
    'run_test', 'build_runner'
]
_MOVED = ('check_datasets', 'check_plugin_config', 'enable_visualization',
          'load_config', 'work_dir_for')


def __getattr__(name: str):
    """The config helpers under their old names (deprecated; they go in the
    next minor version)."""
    if name in _MOVED:
        warnings.warn(f'mmnc.utils.{name} is deprecated: import it from '
                      'mmnc.config', DeprecationWarning, stacklevel=2)
        from mmnc import config
        return getattr(config, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
