"""Deprecated: the generators moved to :mod:`mmnc.datasets.synthetic`;
this alias goes in the next minor version."""
import warnings

from mmnc.datasets.synthetic import *  # noqa: F401,F403

warnings.warn('mmnc.testing.tiny_data is deprecated: import '
              'mmnc.datasets.synthetic', DeprecationWarning, stacklevel=2)
