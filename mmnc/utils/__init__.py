"""Helpers of the project's tools (``tools/train.py``, ``tools/test.py``).

Nothing here is imported by ``import mmnc``, and model code never imports it.
"""
from .config import (
                     check_datasets,
                     check_plugin_config,
                     enable_visualization,
                     load_config,
                     work_dir_for,
)
from .dist import destroy_cpu_distributed, init_cpu_distributed, sync_bn_to_bn
from .runner import build_runner
from .test_run import run_test

__all__ = [
    'check_datasets', 'check_plugin_config', 'enable_visualization',
    'load_config', 'work_dir_for', 'init_cpu_distributed',
    'destroy_cpu_distributed', 'sync_bn_to_bn', 'run_test', 'build_runner'
]
