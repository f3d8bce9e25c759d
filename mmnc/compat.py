"""The one change ``import mmnc`` makes upstream: safe checkpoint loading.

Checkpoints are pickles, and a pickle may call any function it names.
mmengine <= 0.10.7 calls ``torch.load`` without ``weights_only``, which is
broken in both kinds of supported torch:

- torch >= 2.6 loads ``weights_only`` and refuses what mmengine itself
  writes into every checkpoint (its message hub's ``HistoryBuffer``, which
  pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``, and
  numpy arrays and scalars): ``--resume``, ``load_from`` and
  ``tools/test.py CONFIG CKPT`` fail with upstream's own tools.
- torch < 2.6 loads the whole pickle: a checkpoint from anyone runs its
  code when it is loaded.

With mmengine <= 0.10.7, mmengine's checkpoint loaders are re-registered
through its public ``CheckpointLoader.register_scheme(..., force=True)``.
Each loads with torch's tensors and exactly :func:`checkpoint_globals`
allowed: torch >= 2.6 through its own weights-only unpickler (every scheme),
torch < 2.6 through :class:`RestrictedUnpickler` (local files; URLs
download and load inside mmengine's ``load_url``, which no extension point
reaches: download them and load the path). Nothing on the allowlist reaches
other objects: ``getattr`` answers only the four lookups mmengine writes
(:func:`history_buffer_attr`), a ``HistoryBuffer`` checks its state before
upstream's ``__setstate__`` sees it (:class:`CheckedHistoryBuffer`), numpy
dtypes that hold Python objects are refused (:func:`numeric_dtype`).
``tests/test_trust.py`` tries to abuse each of them.

Turn it off with ``MMNC_CHECKPOINT_FIX=0``. To load a checkpoint you trust
that needs more, use torch's switch ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``
(honoured by both loaders).
"""
import codecs
import collections
import functools
import os
import os.path as osp
import pickle
from typing import Any, Callable, Dict

import mmengine
import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version

ENV_SWITCH = 'MMNC_CHECKPOINT_FIX'
TRUST_SWITCH = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
_STATISTICS = ('min', 'max', 'current', 'mean')  # HistoryBuffer's defaults
_BUFFER_TYPES = dict(max_length=int, _log_history=np.ndarray,
                     _count_history=np.ndarray, statistics_methods=dict)


class CheckpointRefused(pickle.UnpicklingError):
    """A checkpoint asked for something a checkpoint may not do."""

    def __init__(self, what: str):
        super().__init__(
            f'mmnc refused to load this checkpoint: {what}. Checkpoints may '
            f'hold tensors, numbers, strings, containers, numpy arrays and '
            f'mmengine\'s message hub, nothing that runs code. If you trust '
            f'the file and its source, load it with {TRUST_SWITCH}=1 '
            f'(README "Checkpoints and trust").')


def history_buffer_attr(obj: Any, name: str) -> Callable:
    """Stands in for ``builtins.getattr`` while a checkpoint loads: answers
    ``getattr(HistoryBuffer, s)`` for mmengine's four statistics ``s``, the
    only lookups mmengine pickles, and refuses every other one."""
    if (isinstance(obj, type) and issubclass(obj, HistoryBuffer)
            and name in _STATISTICS):
        return getattr(HistoryBuffer, name)
    raise CheckpointRefused(f'it looks up attribute {name!r} of {obj!r} '
                            f'(only HistoryBuffer.{{min,max,current,mean}} '
                            f'are answered)')


class CheckedHistoryBuffer(HistoryBuffer):
    """Stands in for mmengine's ``HistoryBuffer`` while a checkpoint loads.

    Upstream's ``__setstate__`` copies the pickled ``statistics_methods``
    into the class-wide registry that every later ``statistics()`` call
    reads, so the state is checked first: known keys of the right types,
    each statistic its own ``HistoryBuffer`` method, numeric arrays. Then
    the object becomes a plain ``HistoryBuffer`` (what it pickles as again).
    """

    def __init__(self, *args, **kwargs):
        raise CheckpointRefused('it calls HistoryBuffer(...) (mmengine '
                                'pickles buffers by their state only)')

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or not set(state) <= set(_BUFFER_TYPES):
            raise CheckpointRefused(f'a HistoryBuffer state {state!r:.200}')
        for key, value in state.items():
            if not isinstance(value, _BUFFER_TYPES[key]) or (
                    isinstance(value, np.ndarray) and value.dtype.hasobject):
                raise CheckpointRefused(
                    f'HistoryBuffer.{key} = {value!r:.200}')
        for key, fn in state.get('statistics_methods', {}).items():
            if key not in _STATISTICS or fn is not getattr(HistoryBuffer, key):
                raise CheckpointRefused(
                    f'a HistoryBuffer statistics method {key!r} = {fn!r}')
        self.__class__ = HistoryBuffer
        HistoryBuffer.__setstate__(self, state)


def numeric_dtype(*args: Any) -> np.dtype:
    """Stands in for ``numpy.dtype``: refuses dtypes that hold Python
    objects (object arrays are pickled object by object)."""
    dtype = np.dtype(*args)
    if dtype.hasobject or dtype.kind == 'V':
        raise CheckpointRefused(f'a numpy array of dtype {dtype} (object '
                                f'and structured arrays are refused)')
    return dtype


def checkpoint_globals() -> Dict[str, Any]:
    """``{pickled name: object}``: what a checkpoint may name besides
    torch's tensors. numpy's reconstructors under both numpy 1 and numpy 2
    names, so a checkpoint loads in either environment."""
    allowed = {
        'mmengine.logging.history_buffer.HistoryBuffer': CheckedHistoryBuffer,
        'builtins.getattr': history_buffer_attr,
        'numpy.ndarray': np.ndarray,
        'numpy.dtype': numeric_dtype,
    }
    # found through public API: their module moved from numpy 1 to numpy 2
    rebuild = np.zeros(1).__reduce__()[0], np.float64(0).__reduce__()[0]
    for fn in rebuild:
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            allowed[f'{module}.{fn.__name__}'] = fn
    return allowed


def _numeric_dtype_classes() -> list:
    """The dtype types (their instances are built from pickled state)."""
    return [type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
        np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)]


# plain-data constructors torch >= 2.6 allows by default and older torch's
# list lacks (torch.save writes bytes as _codecs.encode(str, 'latin1'))
_PLAIN = {'_codecs.encode': codecs.encode, 'builtins.bytearray': bytearray,
          'builtins.set': set, 'builtins.complex': complex,
          'collections.OrderedDict': collections.OrderedDict,
          'collections.Counter': collections.Counter}


@functools.lru_cache(maxsize=1)
def _restricted_globals() -> Dict[str, Any]:
    """What :class:`RestrictedUnpickler` finds, built once (not per name)."""
    from torch._weights_only_unpickler import _get_allowed_globals
    return {**_get_allowed_globals(), **_PLAIN, **checkpoint_globals()}


class RestrictedUnpickler(pickle.Unpickler):
    """A pickle reader that finds only torch's weights-only globals (as
    torch >= 2.6 lists them) and :func:`checkpoint_globals` (torch < 2.6, as
    ``torch.load``'s ``pickle_module``)."""

    def find_class(self, module: str, name: str) -> Any:
        if module == '__builtin__':  # protocol 2 (torch.save's) names
            module = 'builtins'
        key = f'{module}.{name}'
        allowed = _restricted_globals()
        if key in allowed:
            return allowed[key]
        raise CheckpointRefused(f'it names {key}')


def _restricted_load(file, **kwargs) -> Any:
    return RestrictedUnpickler(file, **kwargs).load()


class _RestrictedPickle:
    """What ``torch.load`` needs of a ``pickle_module``."""
    __name__ = 'mmnc.compat'
    Unpickler = RestrictedUnpickler
    load = staticmethod(_restricted_load)


def trusted() -> bool:
    """The user's opt-out for a file they trust (torch's own switch)."""
    return os.environ.get(TRUST_SWITCH, '0').lower() in ('1', 'y', 'yes',
                                                         'true')


def load_local(filename: str, map_location: Any = None) -> Any:
    """mmengine's ``load_from_local``, restricted (torch < 2.6)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    if trusted():
        return torch.load(filename, map_location=map_location)
    return torch.load(filename, map_location=map_location,
                      pickle_module=_RestrictedPickle, weights_only=False)


def weights_only_torch() -> bool:
    return digit_version(torch.__version__) >= digit_version('2.6.0')


def checkpoint_fix_needed() -> bool:
    """True with mmengine <= 0.10.7 (every torch: refused or unsafe, see
    the module doc) unless ``MMNC_CHECKPOINT_FIX=0``."""
    if os.environ.get(ENV_SWITCH, '1') in ('0', ''):
        return False
    return digit_version(mmengine.__version__) <= digit_version('0.10.7')


def fixed_schemes() -> list:
    """The checkpoint schemes the fix re-registers in this environment."""
    if not checkpoint_fix_needed():
        return []
    return list(CheckpointLoader._schemes) if weights_only_torch() else ['']


def _safe(loader: Callable) -> Callable:
    """``loader`` restricted to :func:`checkpoint_globals`: torch >= 2.6
    through its weights-only unpickler (``safe_globals`` takes ``(object,
    name)`` pairs), older torch through :class:`RestrictedUnpickler`."""
    if weights_only_torch():
        pairs = [(obj, name) for name, obj in checkpoint_globals().items()]
        pairs += _numeric_dtype_classes()

        def load(*args, **kwargs):
            with torch.serialization.safe_globals(pairs):
                return loader(*args, **kwargs)
    else:

        def load(filename, map_location=None):
            return load_local(filename, map_location)

    load.mmnc_wraps = loader
    return load


def fix_checkpoint_loading() -> bool:
    """Apply the fix if :func:`checkpoint_fix_needed`; return whether it is
    applied (once: a second call changes nothing)."""
    if not checkpoint_fix_needed():
        return False
    for prefix in fixed_schemes():
        loader = CheckpointLoader._schemes[prefix]
        if not hasattr(loader, 'mmnc_wraps'):
            CheckpointLoader.register_scheme(prefix, _safe(loader), force=True)
    return True
