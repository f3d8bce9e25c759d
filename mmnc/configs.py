"""Deprecated: moved to :mod:`mmnc.config` (``python -m mmnc.config``);
this alias goes in the next minor version."""
import warnings

from mmnc.config.locate import config_dir, config_names, config_path, main

__all__ = ['config_dir', 'config_names', 'config_path', 'main']
warnings.warn('mmnc.configs is deprecated: use mmnc.config (python -m '
              'mmnc.config)', DeprecationWarning,
              stacklevel=1 if __name__ == '__main__' else 2)

if __name__ == '__main__':
    main()
