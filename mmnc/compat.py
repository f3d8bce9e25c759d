"""The one change ``import mmnc`` makes upstream: a version-gated fix.

torch >= 2.6 loads checkpoints with ``weights_only=True``; mmengine <= 0.10.7
calls ``torch.load`` without it and puts objects into every checkpoint that
torch then refuses (its message hub's ``HistoryBuffer``, which pickles its
statistics as ``getattr``, and numpy arrays and scalars). So ``--resume``,
``load_from``, ``tools/test.py CONFIG CKPT`` and many model-zoo checkpoints
fail with upstream's own tools. Only in that combination, mmengine's
checkpoint loaders are re-registered through its public
``CheckpointLoader.register_scheme(..., force=True)``, each running the
original loader with exactly those objects allowed: loading stays
weights-only and a pickle that would call anything else is refused. A plain
``torch.load`` elsewhere keeps torch's defaults.

Turn it off with ``MMNC_CHECKPOINT_FIX=0``. To load a checkpoint you trust
that needs more, use torch's own switch ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``.
"""
import os
from typing import Callable, List

import mmengine
import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version

ENV_SWITCH = 'MMNC_CHECKPOINT_FIX'


def checkpoint_fix_needed() -> bool:
    """True where upstream is broken: torch >= 2.6 with mmengine <= 0.10.7
    (and the fix is not switched off with ``MMNC_CHECKPOINT_FIX=0``)."""
    if os.environ.get(ENV_SWITCH, '1') in ('0', ''):
        return False
    return (digit_version(torch.__version__) >= digit_version('2.6.0')
            and digit_version(mmengine.__version__) <= digit_version('0.10.7'))


def mmengine_checkpoint_globals() -> List[object]:
    """What mmengine 0.10.7 pickles into a checkpoint besides tensors."""
    dtypes = [type(np.dtype(t)) for t in (np.float16, np.float32, np.float64,
                                          np.int8, np.int16, np.int32,
                                          np.int64, np.uint8, np.bool_)]
    # the reconstructors numpy pickles arrays and scalars with, found
    # through public API (their module moved between numpy 1 and 2)
    return [HistoryBuffer, getattr, np.ndarray, np.dtype, *dtypes,
            np.zeros(1).__reduce__()[0], np.float64(0).__reduce__()[0]]


def _allowing(loader: Callable, allowed: List[object]) -> Callable:

    def load(*args, **kwargs):
        with torch.serialization.safe_globals(allowed):
            return loader(*args, **kwargs)

    load.mmnc_wraps = loader
    return load


def fix_checkpoint_loading() -> bool:
    """Apply the fix if :func:`checkpoint_fix_needed`; return whether it is
    applied (once: a second call changes nothing)."""
    if not checkpoint_fix_needed():
        return False
    allowed = mmengine_checkpoint_globals()
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if not hasattr(loader, 'mmnc_wraps'):
            CheckpointLoader.register_scheme(
                prefix, _allowing(loader, allowed), force=True)
    return True
