"""mmnc's scope: ``type='mmnc.ResNet'`` and the other plugin-capable hosts.

mmdet, mmseg and mmpretrain each have a ``ResNet`` (with different
arguments), and each user's config names the one of its toolbox. mmnc
subclasses each of them, and ``MODELS`` below, a child of mmengine's root
registry with scope ``mmnc``, maps one name to the subclass of the toolbox
of the current default scope. A user's change is the prefix: ``type=
'mmnc.ResNet'`` instead of ``'ResNet'``, plus ``plugins=[...]``; every other
argument and every parameter name stays the toolbox's.

mmengine finds the scope from any registry: a ``'mmnc.'`` type makes it
import this module (``Registry.get`` imports ``<scope>.registry``), and the
first look-up imports :mod:`mmnc.models`, which registers the hosts of the
installed toolboxes. The blocks (``NCBlock``, ``SEBlock``) and mmnc's other
modules live in the root registry, found from every scope without a prefix.

The current default scope is the config's ``default_scope`` (set by the
Runner, ``init_detector``, ``init_model``, ...) or, for one module, a
``_scope_`` key in its dict (mmengine's own switch)::

    backbone=dict(type='mmnc.ResNet', _scope_='mmpretrain', depth=50, ...)
"""
from typing import Callable, Dict, List

from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope, Registry

TOOLBOXES = ('mmdet', 'mmseg', 'mmpretrain')
"""The scopes whose hosts mmnc subclasses."""

MODELS = Registry(
    'model', parent=MMENGINE_MODELS, scope='mmnc', locations=['mmnc.models'])
"""The ``mmnc`` scope: one entry per host name, resolved by scope."""

_HOSTS: Dict[str, Dict[str, type]] = {}  # name -> {toolbox scope: class}


def current_scope() -> str | None:
    """The scope name of the current default scope, or None."""
    scope = DefaultScope.get_current_instance()
    return None if scope is None else scope.scope_name


def host_names() -> List[str]:
    """The names a ``'mmnc.'`` type can take, e.g. ``'ResNet'``."""
    return sorted(_HOSTS)


def get_host(name: str, scope: str | None = None) -> type:
    """The class ``type='mmnc.<name>'`` builds in ``scope``.

    Args:
        name (str): A host name, e.g. ``'ResNet'``.
        scope (str, optional): A toolbox scope. Default: the current
            default scope.

    Raises:
        KeyError: ``name`` is not an mmnc host.
        ValueError: The scope is not one of mmdet, mmseg, mmpretrain, or
            that toolbox has no such host.
    """
    scope = current_scope() if scope is None else scope
    if name not in _HOSTS:
        raise KeyError(f'mmnc has no host {name!r}; it has '
                       f'{", ".join(host_names())}')
    by_scope = _HOSTS[name]
    have = ', '.join(s for s in TOOLBOXES if s in by_scope)
    if scope not in TOOLBOXES:
        raise ValueError(
            f"type='mmnc.{name}' builds the {name} of the toolbox of the "
            f'current default scope, one of {", ".join(TOOLBOXES)} (mmnc has '
            f'one for {have}), but the current default scope is {scope!r}. '
            f"Set default_scope='mmdet' (or 'mmseg', 'mmpretrain') in the "
            f"config, or put _scope_='<toolbox>' in this module's dict.")
    if scope not in by_scope:
        theirs = [n for n in host_names() if scope in _HOSTS[n]]
        raise ValueError(
            f'mmnc.{name} exists for {have}, not for {scope}, which has no '
            f'{name} to extend. The hosts for {scope}: mmnc.'
            f'{", mmnc.".join(theirs)}; or put _scope_=\'<toolbox>\' in '
            f"this module's dict to build another toolbox's {name}.")
    return by_scope[scope]


def _dispatch(name: str) -> Callable:

    def build(*args, **kwargs):
        return get_host(name)(*args, **kwargs)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f'Build the plugin-capable {name} of the toolbox of the '
                     f'current default scope (see :func:`get_host`).')
    return build


def register_host(scope: str) -> Callable[[type], type]:
    """Register a class as ``mmnc.<its name>`` for the toolbox ``scope``."""
    if scope not in TOOLBOXES:
        raise ValueError(f'scope must be one of {TOOLBOXES}, got {scope!r}')

    def register(cls: type) -> type:
        by_scope = _HOSTS.setdefault(cls.__name__, {})
        if scope in by_scope:
            raise KeyError(f'mmnc.{cls.__name__} is already registered for '
                           f'{scope}: {by_scope[scope]}')
        by_scope[scope] = cls
        if cls.__name__ not in MODELS.module_dict:
            MODELS.register_module(
                name=cls.__name__, module=_dispatch(cls.__name__))
        return cls

    return register
