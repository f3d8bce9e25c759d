"""Deprecated: moved to :mod:`mmnc.config` (``checks``, ``load``); this
alias goes in the next minor version."""
import warnings

from mmnc.config.checks import *  # noqa: F401,F403
from mmnc.config.load import *  # noqa: F401,F403

warnings.warn('mmnc.utils.config is deprecated: use mmnc.config',
              DeprecationWarning, stacklevel=2)
