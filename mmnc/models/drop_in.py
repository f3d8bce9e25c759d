"""Hosts that are drop-ins for their upstream class.

An ``mmnc.`` host (``mmnc.ResNet``, ...) is a subclass of a toolbox's class
with a mixin before it. Each accepts exactly the upstream class's arguments,
positional and keyword (``ResNet(18, base_channels=2)`` as mmdet's), plus
``plugins`` as a keyword where upstream's own parameters lack it;
``inspect.signature`` shows that signature. :class:`DropIn` gives a mixin
both.
"""
import inspect
from typing import Any, Dict, Tuple


def upstream_class(cls: type) -> type | None:
    """The first class in ``cls``'s MRO that is not mmnc's: the toolbox
    class the host extends (None for a mixin, which extends none)."""
    for base in cls.__mro__[1:]:
        if not base.__module__.startswith('mmnc.'):
            return None if base is object else base
    return None


def drop_in_signature(upstream: type, **extras: Any) -> inspect.Signature:
    """``upstream``'s signature plus each of ``extras`` (name=default) it does
    not name, keyword-only, before its ``**kwargs``."""
    sig = inspect.signature(upstream)
    params = list(sig.parameters.values())
    var_kw = [p for p in params if p.kind is p.VAR_KEYWORD]
    params = [p for p in params if p.kind is not p.VAR_KEYWORD]
    params += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                          default=default)
        for name, default in extras.items() if name not in sig.parameters
    ]
    return sig.replace(parameters=params + var_kw)


class DropIn:
    """Mixin of a host: ``inspect.signature`` of every subclass is its
    upstream class's plus :attr:`drop_in_extras`; :meth:`upstream_arguments`
    reads a call's arguments by name."""

    drop_in_extras: Dict[str, Any] = dict(plugins=None)
    """Keyword arguments the host adds (name: default)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        upstream = upstream_class(cls)
        if upstream is not None:
            cls.__signature__ = drop_in_signature(upstream,
                                                  **cls.drop_in_extras)

    @classmethod
    def upstream_arguments(cls, args: Tuple, kwargs: dict) -> dict:
        """The arguments of a call by name, as upstream's ``__init__`` binds
        them (its defaults filled in, a ``**kwargs`` flattened): the host
        reads them before upstream runs. A call upstream refuses raises
        upstream's ``TypeError``."""
        bound = cls.__signature__.bind(*args, **kwargs)
        bound.apply_defaults()
        named = {}
        for name, value in bound.arguments.items():
            if cls.__signature__.parameters[name].kind is \
                    inspect.Parameter.VAR_KEYWORD:
                named.update(value)
            else:
                named[name] = value
        return named
