"""A ``Runner`` whose ``resume`` runs no Python kept in the checkpoint.

mmengine's ``Runner.resume`` passes ``checkpoint['meta']['config']`` to
``Config.fromstring``, which executes it, only to read ``gpu_ids``: a
checkpoint of plain data (which every restricted loader accepts) runs its
author's code on ``--resume``. :class:`SafeRunner` does what upstream's
``resume`` does, but takes the config string out of ``meta`` before
upstream's code sees it and reads ``gpu_ids`` from it as a literal
(:func:`literal_gpu_ids`: ``ast`` parses, nothing runs).

``tools/train.py`` and ``tools/test.py`` build it for every config that
names no ``runner_type``; a config that names one gets that runner (see
docs/advanced_guides/trust.md). Configs run by upstream's tools select it
with ``runner_type='SafeRunner'`` (and ``custom_imports`` of ``mmnc``).
"""
import ast
from typing import Any, Sequence

from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

MAX_CONFIG_CHARS = 1 << 22
"""Config strings longer than this are not parsed (no ``gpu_ids`` check)."""


def _literal(node: ast.AST) -> Any:
    """``node`` as a literal, or ``range(...)`` of int literals."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == 'range' and not node.keywords
            and len(node.args) <= 3):
        return range(*(ast.literal_eval(a) for a in node.args))
    return ast.literal_eval(node)


def literal_gpu_ids(config: Any) -> Sequence | None:
    """The ``gpu_ids = ...`` of a Python config string, read as a literal.

    Returns None when ``config`` is not a string, is longer than
    :data:`MAX_CONFIG_CHARS`, does not parse, has no top-level ``gpu_ids``
    assignment, or assigns it anything but a list/tuple literal or
    ``range`` of ints. Never executes any of ``config``; never raises.
    """
    if not isinstance(config, str) or len(config) > MAX_CONFIG_CHARS:
        return None
    try:
        tree = ast.parse(config)
        for stmt in tree.body:
            if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)
                    and stmt.targets[0].id == 'gpu_ids'):
                value = _literal(stmt.value)
                return (value if isinstance(value, (list, tuple, range))
                        else None)
    except (SyntaxError, ValueError, TypeError, RecursionError,
            MemoryError):
        return None
    return None


@RUNNERS.register_module()
class SafeRunner(Runner):
    """mmengine's ``Runner``; ``resume`` never executes ``meta['config']``.

    Everything else (epoch, iteration, seed, message hub, optimizer,
    schedulers, the GPU-count check) is upstream's ``resume``.
    """

    _resuming = False

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location: Any = 'default') -> None:
        self._resuming = True
        try:
            super().resume(filename, resume_optimizer,
                           resume_param_scheduler, map_location)
        finally:
            self._resuming = False

    def load_checkpoint(self, *args, **kwargs) -> dict:
        """Upstream's; while resuming, ``meta['config']`` is replaced by
        ``gpu_ids = <its literal gpu_ids>`` (or removed), so upstream's
        ``resume`` parses only that."""
        checkpoint = super().load_checkpoint(*args, **kwargs)
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
        if self._resuming and isinstance(meta, dict) and 'config' in meta:
            gpu_ids = literal_gpu_ids(meta.pop('config'))
            if gpu_ids is not None:
                meta['config'] = f'gpu_ids = {gpu_ids!r}'
            else:
                print_log('the checkpoint\'s meta config is not executed; '
                          'no literal gpu_ids in it to check', 'current')
        return checkpoint
