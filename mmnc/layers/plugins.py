"""The ``plugins`` convention of mmdet's ResNet, for every host mmnc owns.

A ``plugins`` list holds ``dict(cfg=dict(type=...), stages=(bool, ...),
position=str)`` entries. This module is the one place that checks such a
list, decides which entries apply to which stage and position, and builds
the layers with errors that name the problem and the fix. Upstream hosts
(mmdet's and mmseg's ResNets) keep their own code: mmnc does not touch it.
"""
import difflib
import inspect
from typing import Dict, List, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import build_plugin_layer as _mmcv_build_plugin_layer
from mmengine.model import BaseModule
from mmengine.registry import MODELS

from mmnc.errors import ArgumentError

PLUGIN_BLOCKS = ('NCBlock', 'SEBlock', 'ContextBlock', 'GeneralizedAttention',
                 'NonLocal2d', 'ConvsBlock')
"""The plugin blocks named in error messages (mmnc's and mmcv's)."""

StagePlugins = Dict[str, List[dict]]


def check_plugin_type(layer_type, where: str = 'plugin') -> None:
    """Raise a KeyError naming the known blocks if ``layer_type`` is not
    registered in the current scope (mmcv says "Cannot find None")."""
    if inspect.isclass(layer_type):
        return
    with MODELS.switch_scope_and_registry(None) as registry:
        if registry.get(layer_type) is not None:
            return
        known = [t for t in PLUGIN_BLOCKS if registry.get(t) is not None]
    close = difflib.get_close_matches(str(layer_type), known, n=1)
    hint = f' Did you mean {close[0]!r}?' if close else ''
    raise KeyError(
        f'Unknown {where} type {layer_type!r}.{hint} Known plugin blocks: '
        f'{", ".join(known)}. Check the spelling, and that the config '
        f"imports mmnc: custom_imports = dict(imports=['mmnc'], "
        f'allow_failed_imports=False).')


def build_plugin_layer(cfg: dict, postfix: str = '',
                       **kwargs) -> Tuple[str, nn.Module]:
    """mmcv's ``build_plugin_layer`` with errors that name the fix."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'A plugin cfg must be a dict with a "type" key, e.g. '
                        f"dict(type='NCBlock'); got {cfg!r}")
    check_plugin_type(cfg['type'])
    try:
        return _mmcv_build_plugin_layer(cfg, postfix, **kwargs)
    except TypeError as e:  # e.g. a misspelled keyword of the block
        raise TypeError(f'Cannot build plugin {cfg!r}: {e}') from e


def check_plugins(plugins: Sequence[dict] | None,
                  positions: Sequence[str],
                  num_stages: int | None = None,
                  host: str = 'ResNet') -> None:
    """Raise a clear error for a plugin list the host cannot take.

    Raises:
        ArgumentError: A malformed entry, a position the host lacks, a
            ``stages`` tuple of the wrong length (upstream asserts).

    Args:
        plugins (Sequence[dict], optional): ``dict(cfg=..., position=...,
            stages=...)`` entries.
        positions (Sequence[str]): The positions the host has.
        num_stages (int, optional): The host's number of stages, checked
            against each ``stages`` tuple.
        host (str): The host's name, for the message.
    """
    for p in plugins or ():
        if not isinstance(p, dict) or 'cfg' not in p or 'position' not in p:
            raise ArgumentError(
                f'{host}: each plugin must be dict(cfg=dict(type=...), '
                f'position=..., stages=...), got {p!r}')
        if p['position'] not in positions:
            raise ArgumentError(
                f'{host}: plugin {p["cfg"].get("type")!r} is at position '
                f'{p["position"]!r}, which this host does not have; use one '
                f'of {tuple(positions)}')
        stages = p.get('stages')
        if (stages is not None and num_stages is not None
                and len(stages) != num_stages):
            raise ArgumentError(
                f'{host}: plugin {p["cfg"].get("type")!r} has stages={stages}'
                f' but the host has {num_stages} stages; give one flag each')


def split_plugins(plugins: Sequence[dict] | None, num_stages: int,
                  positions: Sequence[str],
                  host: str) -> List[StagePlugins]:
    """Check a ``plugins`` list and sort its cfgs by stage and position.

    Args:
        plugins (Sequence[dict], optional): ``dict(cfg, position, stages)``
            entries; ``stages`` (one bool per stage) defaults to all stages.
        num_stages (int): Stages of the host backbone.
        positions (Sequence[str]): The positions the host supports.
        host (str): The host's name, for the error messages.

    Returns:
        list[dict[str, list[dict]]]: Per stage, the plugin cfgs at each
        position, in the order of ``plugins``.
    """
    check_plugins(plugins, positions, num_stages, host)
    out = [{p: [] for p in positions} for _ in range(num_stages)]
    for plugin in plugins or ():
        stages = plugin.get('stages') or (True, ) * num_stages
        for cfgs, on in zip(out, stages):
            if on:
                cfgs[plugin['position']].append(plugin['cfg'])
    return out


def add_plugins(module: nn.Module, in_channels: int,
                cfgs: Sequence[dict]) -> List[str]:
    """Build plugin layers and add them to ``module``; return their names.

    A ``postfix`` key in a cfg tells apart two plugins of one type at the
    same position (``nc_block1``, ``nc_block2``).
    """
    names = []
    for cfg in cfgs:
        cfg = dict(cfg)
        name, layer = build_plugin_layer(
            cfg, postfix=cfg.pop('postfix', ''), in_channels=in_channels)
        if hasattr(module, name):  # upstream asserts
            raise ArgumentError(
                f'Two plugins named {name!r} in one place of '
                f'{type(module).__name__}: give them distinct "postfix" keys '
                f'in their cfgs')
        layer._mmnc_plugin = True  # for init_unreached
        module.add_module(name, layer)
        names.append(name)
    return names


def init_unreached(module: nn.Module) -> None:
    """Run ``init_weights()`` of the plugins mmengine's init did not reach.

    ``BaseModule.init_weights`` recurses only through children that define
    ``init_weights``, so a plugin under a plain ``nn.Sequential`` (a ResLayer
    of mmpretrain, a MobileNet stage) would keep torch's default init instead
    of its own, e.g. the zeroed decoder that makes an NCBlock start as the
    identity. Only plugins built by :func:`add_plugins` are touched: the
    host's own modules keep what upstream's init gives them.
    """
    for m in module.modules():
        if (getattr(m, '_mmnc_plugin', False) and isinstance(m, BaseModule)
                and not m.is_init):
            m.init_weights()
