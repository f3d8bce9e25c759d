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
upstream's ``__setstate__`` sees it (:class:`CheckedHistoryBuffer`), numpy's
names find stand-ins that build plain numeric arrays, dtypes and scalars
from checked parts (:class:`CheckedArray`, :class:`CheckedDtype`,
:func:`checked_scalar`; :func:`finish_numpy` puts the arrays in place).
torch's safe-globals list is left as it was, and refused when it holds a
callable that reaches any object (:func:`checkpoint_safe_globals`).
``tests/test_trust.py`` tries to abuse each of them.

Turn it off with ``MMNC_CHECKPOINT_FIX=0``. To load a checkpoint you trust
that needs more, use torch's switch ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``
(honoured by both loaders).
"""
import codecs
import collections
import contextlib
import functools
import importlib
import math
import operator
import os
import os.path as osp
import pickle
import re
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
            f'mmnc refused to load this checkpoint: {what[:_MESSAGE]}. '
            f'Checkpoints may hold tensors, numbers, strings, containers, '
            f'numeric numpy arrays and mmengine\'s message hub, nothing that '
            f'runs code. If you trust the file and its source, load it with '
            f'{TRUST_SWITCH}=1 (docs/advanced_guides/trust.md).')


_MESSAGE = 600  # characters of a refusal's own description


def brief(value: Any) -> str:
    """At most ~80 characters about ``value`` for a refusal message: its
    type, its length and the start of a string, never a full ``repr``
    (checkpoint data can be deep or self-sharing; its repr unbounded)."""
    kind = type(value).__qualname__[:40]
    if isinstance(value, (bool, float, complex)) or (
            isinstance(value, int) and value.bit_length() <= 64):
        return repr(value)
    if isinstance(value, int):
        return f'int of {value.bit_length()} bits'
    if isinstance(value, (str, bytes, bytearray)):
        head = repr(value[:40])
        return f'{kind} of length {len(value)}: {head}' + (
            '...' if len(value) > 40 else '')
    if isinstance(value, type):
        return f'class {value.__module__[:40]}.{value.__qualname__[:40]}'
    try:
        return f'{kind} of length {len(value)}'
    except Exception:
        return kind


def history_buffer_attr(obj: Any, name: str) -> Callable:
    """Stands in for ``builtins.getattr`` while a checkpoint loads: answers
    ``getattr(HistoryBuffer, s)`` for mmengine's four statistics ``s``, the
    only lookups mmengine pickles, and refuses every other one."""
    if (isinstance(obj, type) and issubclass(obj, HistoryBuffer)
            and name in _STATISTICS):
        return getattr(HistoryBuffer, name)
    raise CheckpointRefused(f'it looks up attribute {brief(name)} of '
                            f'{brief(obj)} (only HistoryBuffer.{{min,max,'
                            f'current,mean}} are answered)')


class NdarrayName:
    """What the name ``numpy.ndarray`` finds while a checkpoint loads: the
    marker numpy pickles as :class:`CheckedArray`'s first argument. It
    builds nothing (``numpy.ndarray(shape, dtype, buffer)`` would view
    caller-provided memory)."""

    def __new__(cls, *args, **kwargs):
        raise CheckpointRefused('it constructs numpy.ndarray directly')


class CheckedDtype:
    """Stands in for ``numpy.dtype`` while a checkpoint loads.

    Built as numpy pickles a dtype, ``dtype(name, False, True)`` then
    BUILD with its state; admits exactly the plain numeric dtypes (kind
    ``b``, ``i``, ``u``, ``f``, ``c``: no object, fields, subarray, void
    or metadata) in either byte order, and only numpy's own state for them,
    once. :meth:`value` is a fresh ``np.dtype`` in native byte order.

    Raises:
        CheckpointRefused: any other name, arguments or state.
    """
    __hash__ = None  # never a dict key or set member (as arrays)
    _dtype = None
    _built = False

    def __init__(self, name: Any = None, align: Any = False,
                 copy: Any = True):
        if not (isinstance(name, str) and _DTYPE_NAME.fullmatch(name)
                and align is False and copy is True):
            raise CheckpointRefused(
                f'a numpy dtype {brief(name)} (only plain numeric dtypes '
                f'are admitted: bool, int, uint, float, complex)')
        dtype = np.dtype(name)
        if (dtype.kind not in 'biufc' or dtype.fields is not None
                or dtype.subdtype is not None or dtype.metadata is not None
                or dtype.hasobject):
            raise CheckpointRefused(f'a numpy dtype {brief(name)}')
        self._dtype = dtype

    def __setstate__(self, state: Any) -> None:
        order = state[1] if isinstance(state, tuple) and len(state) == 8 \
            else None
        if (self._dtype is None or self._built or order not in _ORDERS
                or state != (3, order, None, None, None, -1, -1, 0)
                or (order == '|') != (self._dtype.itemsize == 1)):
            raise CheckpointRefused(
                f'a numpy dtype state {brief(state)} (numpy writes '
                f'(3, byteorder, None, None, None, -1, -1, 0) for a plain '
                f'numeric dtype, once)')
        self._dtype = self._dtype.newbyteorder(order)
        self._built = True

    def value(self) -> np.dtype:
        if not self._built:
            raise CheckpointRefused('a numpy dtype without its state')
        return self._dtype

    def __repr__(self) -> str:
        return f'CheckedDtype({self._dtype}, built={self._built})'


class CheckedArray:
    """Stands in for numpy's ``_reconstruct`` while a checkpoint loads.

    numpy pickles an array as ``_reconstruct(numpy.ndarray, (0,), b'b')``
    then BUILD with ``(1, shape, dtype, is_fortran, rawdata)``. This checks
    those parts (the dtype a :class:`CheckedDtype`, ``rawdata`` bytes of
    exactly ``prod(shape) * itemsize``) and builds the array itself: a fresh
    C-contiguous copy in native byte order that owns its data. The loaders
    then put :meth:`value` where the stand-in was (:func:`finish_numpy`).

    Raises:
        CheckpointRefused: other arguments, state, or a second BUILD.
    """
    __hash__ = None  # as arrays: never a dict key or set member
    _array = None
    _ready = False

    def __init__(self, cls: Any = None, shape: Any = None,
                 typecode: Any = None):
        if cls is not NdarrayName or shape != (0, ) or typecode != b'b':
            raise CheckpointRefused(
                f'numpy _reconstruct({brief(cls)}, {brief(shape)}, '
                f'{brief(typecode)}) (numpy writes (numpy.ndarray, (0,), '
                f'b"b"))')
        self._ready = True

    def __setstate__(self, state: Any) -> None:
        if not self._ready or self._array is not None:
            raise CheckpointRefused('a numpy array built twice or not '
                                    'through _reconstruct')
        if not (isinstance(state, tuple) and len(state) == 5
                and state[0] == 1 and isinstance(state[2], CheckedDtype)
                and type(state[3]) is bool
                and type(state[4]) in (bytes, bytearray)
                and type(state[1]) is tuple and len(state[1]) <= 32
                and all(type(n) is int and n >= 0 for n in state[1])):
            raise CheckpointRefused(
                f'a numpy array state {brief(state)} (numpy writes (1, '
                f'shape, dtype, is_fortran, bytes))')
        _, shape, dtype, fortran, raw = state
        dtype = dtype.value()
        if math.prod(shape) * dtype.itemsize != len(raw):
            raise CheckpointRefused(
                f'a numpy array of shape {brief(shape)} and dtype {dtype} '
                f'over {len(raw)} bytes of data')
        flat = np.frombuffer(raw, dtype=dtype)
        array = flat.reshape(shape, order='F' if fortran else 'C')
        self._array = np.array(array, dtype=dtype.newbyteorder('='),
                               order='C', copy=True)

    def value(self) -> np.ndarray:
        if self._array is None:
            raise CheckpointRefused('a numpy array without its data')
        return self._array

    def __repr__(self) -> str:
        return 'CheckedArray(built)' if self._array is not None else \
            'CheckedArray(pending)'


def checked_scalar(dtype: Any = None, data: Any = None) -> np.generic:
    """Stands in for numpy's ``scalar(dtype, bytes)`` (how numpy pickles a
    numpy number): a :class:`CheckedDtype` and exactly ``itemsize`` bytes,
    returned as a fresh numpy scalar in native byte order.

    Raises:
        CheckpointRefused: anything else (object scalars pass an object).
    """
    if not (isinstance(dtype, CheckedDtype) and type(data) in (bytes,
                                                               bytearray)):
        raise CheckpointRefused(f'a numpy scalar of {brief(dtype)} from '
                                f'{brief(data)}')
    dtype = dtype.value()
    if len(data) != dtype.itemsize:
        raise CheckpointRefused(f'a numpy {dtype} scalar from {len(data)} '
                                f'bytes')
    return np.frombuffer(data, dtype=dtype).astype(
        dtype.newbyteorder('='))[0]


def empty_bytes(*args: Any) -> bytes:
    """Stands in for ``builtins.bytes``, which pickle names for ``b''``
    (an empty array's data): ``bytes()`` only (``bytes(n)`` allocates)."""
    if args:
        raise CheckpointRefused(f'bytes({brief(args)})')
    return b''


_DTYPE_NAME = re.compile(r'[biufc][0-9]{1,2}')
_STAND_INS = (CheckedArray, CheckedDtype)
_ORDERS = ('<', '>', '|', '=')


def finish_numpy(obj: Any) -> Any:
    """``obj`` with every :class:`CheckedArray` / :class:`CheckedDtype` in
    its dicts, lists and tuples replaced by its value (in place; tuples
    rebuilt). Iterative (any depth) and each container once (shared
    references). Returns ``obj`` or its replacement.

    Raises:
        CheckpointRefused: a stand-in that was never built.
    """
    done: Dict[int, Any] = {}
    keep = []  # what ``done`` holds the ids of stays alive meanwhile
    stack = [(obj, False)]
    while stack:
        item, children_done = stack.pop()
        if isinstance(item, _STAND_INS):
            done[id(item)] = item.value()
            keep.append(item)
            continue
        if not isinstance(item, (dict, list, tuple)):
            continue
        if not children_done:
            if id(item) in done:
                continue
            if not isinstance(item, tuple):  # mutable: keeps its identity
                done[id(item)] = item
            keep.append(item)
            stack.append((item, True))
            stack.extend((child, False) for child in (
                item.values() if isinstance(item, dict) else item))
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                if id(child) in done and done[id(child)] is not child:
                    item[key] = done[id(child)]
        elif isinstance(item, list):
            for i, child in enumerate(item):
                if id(child) in done and done[id(child)] is not child:
                    item[i] = done[id(child)]
        else:
            new = tuple(done.get(id(c), c) for c in item)
            same = all(a is b for a, b in zip(new, item))
            done[id(item)] = item if same or type(item) is not tuple \
                else new
    return done.get(id(obj), obj)


class CheckedHistoryBuffer(HistoryBuffer):
    """Stands in for mmengine's ``HistoryBuffer`` while a checkpoint loads.

    Upstream's ``__setstate__`` copies the pickled ``statistics_methods``
    into the class-wide registry that every later ``statistics()`` call
    reads, so the state is checked first: known keys of the right types,
    each statistic its own ``HistoryBuffer`` method, 1-D numeric arrays
    (:class:`CheckedArray`, replaced by their values). Then the object
    becomes a plain ``HistoryBuffer`` (what it pickles as again).
    """

    def __init__(self, *args, **kwargs):
        raise CheckpointRefused('it calls HistoryBuffer(...) (mmengine '
                                'pickles buffers by their state only)')

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or not set(state) <= set(_BUFFER_TYPES):
            raise CheckpointRefused(f'a HistoryBuffer state {brief(state)}')
        state = dict(state)
        for key, value in state.items():
            if _BUFFER_TYPES[key] is np.ndarray:
                if not isinstance(value, CheckedArray):
                    raise CheckpointRefused(
                        f'HistoryBuffer.{key} = {brief(value)}')
                value = state[key] = value.value()
                if value.ndim != 1:
                    raise CheckpointRefused(
                        f'HistoryBuffer.{key} of shape {value.shape}')
            elif type(value) is not _BUFFER_TYPES[key]:
                raise CheckpointRefused(
                    f'HistoryBuffer.{key} = {brief(value)}')
        for key, fn in state.get('statistics_methods', {}).items():
            if key not in _STATISTICS or fn is not getattr(HistoryBuffer, key):
                raise CheckpointRefused(
                    f'a HistoryBuffer statistics method {brief(key)} = '
                    f'{brief(fn)}')
        self.__class__ = HistoryBuffer
        HistoryBuffer.__setstate__(self, state)


def checkpoint_globals() -> Dict[str, Any]:
    """``{pickled name: object}``: what a checkpoint may name besides
    torch's tensors. numpy's reconstructors under both numpy 1 and numpy 2
    names (checked stand-ins, not numpy's own), so a checkpoint loads in
    either environment."""
    allowed = {
        'mmengine.logging.history_buffer.HistoryBuffer': CheckedHistoryBuffer,
        'builtins.getattr': history_buffer_attr,
        'numpy.ndarray': NdarrayName,
        'numpy.dtype': CheckedDtype,
        'builtins.bytes': empty_bytes,
    }
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed[f'{module}._reconstruct'] = CheckedArray
        allowed[f'{module}.scalar'] = checked_scalar
    return allowed


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
        raise CheckpointRefused(f'it names {brief(key)}')


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
    return finish_numpy(torch.load(
        filename, map_location=map_location, pickle_module=_RestrictedPickle,
        weights_only=False))


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


# callables that reach any object (or run code) from a pickle: allowlisted
# in torch's safe globals, they open every checkpoint to code execution
_DANGEROUS = {
    'builtins.getattr': getattr, 'builtins.eval': eval, 'builtins.exec': exec,
    'builtins.compile': compile, 'builtins.__import__': __import__,
    'builtins.globals': globals, 'builtins.vars': vars,
    'builtins.setattr': setattr, 'builtins.delattr': delattr,
    'builtins.open': open, 'builtins.breakpoint': breakpoint,
    'operator.attrgetter': operator.attrgetter,
    'operator.methodcaller': operator.methodcaller,
    'importlib.import_module': importlib.import_module,
    'os.system': os.system, 'os.popen': os.popen, 'pickle.loads': pickle.loads,
    'functools.partial': functools.partial, 'builtins.type': type,
    'builtins.object': object,
}


class UnsafeSafeGlobals(CheckpointRefused):
    """torch's safe-globals list holds a callable that reaches any object."""

    def __init__(self, name: str):
        pickle.UnpicklingError.__init__(
            self, f'mmnc refuses to load checkpoints while torch\'s '
            f'safe-globals list holds {name[:100]} (added with '
            f'torch.serialization.add_safe_globals): with it a checkpoint '
            f'reaches any object and runs code (getattr(getattr, '
            f'"__self__") is the builtins module, and its eval). mmengine\'s '
            f'checkpoints do not need it: mmnc answers their getattr lookups '
            f'itself. Remove it (torch.serialization.clear_safe_globals(), '
            f'then add back what you need), or for a file you trust load '
            f'with {TRUST_SWITCH}=1.')


def _entry_name(entry: Any) -> tuple:
    """``(name, object)`` of one entry of torch's safe-globals list."""
    if isinstance(entry, tuple) and len(entry) == 2:
        return str(entry[1]), entry[0]
    return (f'{getattr(entry, "__module__", "")}.'
            f'{getattr(entry, "__qualname__", "")}'), entry


@contextlib.contextmanager
def checkpoint_safe_globals():
    """torch's safe-globals list with :func:`checkpoint_globals` answering
    their names (the user's entries of the same names set aside) while the
    block runs; afterwards exactly the list as it was.

    Raises:
        UnsafeSafeGlobals: the list holds a callable that reaches any object
            (``builtins.getattr``, ``eval``, ``exec``, ...): nothing loads.
    """
    from torch import serialization
    before = serialization.get_safe_globals()
    ours = checkpoint_globals()
    dangerous = {id(obj) for obj in _DANGEROUS.values()}
    for entry in before:
        name, obj = _entry_name(entry)
        if name in _DANGEROUS or id(obj) in dangerous:
            raise UnsafeSafeGlobals(name)
    kept = [e for e in before if _entry_name(e)[0] not in ours]
    serialization.clear_safe_globals()
    try:
        serialization.add_safe_globals(
            kept + [(obj, name) for name, obj in ours.items()])
        yield
    finally:
        serialization.clear_safe_globals()
        serialization.add_safe_globals(before)


def _safe(loader: Callable) -> Callable:
    """``loader`` restricted to :func:`checkpoint_globals`: torch >= 2.6
    through its weights-only unpickler (:func:`checkpoint_safe_globals`),
    older torch through :class:`RestrictedUnpickler`; numpy stand-ins in
    the result replaced by their values (:func:`finish_numpy`)."""
    if weights_only_torch():

        def load(*args, **kwargs):
            with checkpoint_safe_globals():
                return finish_numpy(loader(*args, **kwargs))
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
