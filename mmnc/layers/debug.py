"""``MMNC_DEBUG=1``: NC and SE blocks check their input for NaN/Inf, and
NC says which path computed its message."""
import os

import torch

DEBUG = os.environ.get('MMNC_DEBUG', '0') not in ('', '0')
"""Read once, at import."""


def check_finite(block: torch.nn.Module, x: torch.Tensor) -> None:
    """Raise a FloatingPointError naming ``block`` if its input has NaN/Inf."""
    bad = x.numel() - int(torch.isfinite(x).sum())
    if bad:
        raise FloatingPointError(
            f'{type(block).__name__}(in_channels={block.in_channels}): {bad} '
            f'of {x.numel()} input values (shape {list(x.shape)}) are NaN or '
            f'Inf, so the layers before it already diverged. Lower the '
            f'learning rate, clip gradients (optim_wrapper.clip_grad) or '
            f'check the input data.')


_noted: set = set()


def note_path(message: str) -> None:
    """Log ``message`` (which path a block took) once per distinct text."""
    if message not in _noted:
        _noted.add(message)
        from mmengine.logging import print_log
        print_log(f'[MMNC_DEBUG] {message}', logger='current')
