"""The mmdet-style ``plugins`` convention, shared by the cls backbones.

A ``plugins`` list holds ``dict(cfg=dict(type=...), stages=(bool, ...),
position=str)`` entries, as ``mmdet.models.backbones.ResNet`` takes them.
"""
from typing import Dict, List, Optional, Sequence

import torch.nn as nn
from mmengine.model import BaseModule

from mmnc.layers import build_plugin_layer, check_plugins


def split_plugins(plugins: Optional[Sequence[dict]], num_stages: int,
                  positions: Sequence[str],
                  host: str) -> List[Dict[str, List[dict]]]:
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
        if hasattr(module, name):
            raise ValueError(
                f'Two plugins named {name!r} in one place of '
                f'{type(module).__name__}: give them distinct "postfix" keys '
                f'in their cfgs')
        module.add_module(name, layer)
        names.append(name)
    return names


def init_unreached(module: nn.Module) -> None:
    """Run ``init_weights()`` of the submodules mmengine did not reach.

    ``BaseModule.init_weights`` recurses only through children that define
    ``init_weights``, so a plugin under a plain ``nn.Sequential`` (a ResLayer,
    a MobileNet stage) would keep torch's default init instead of its own,
    e.g. the zeroed decoder that makes an NCBlock start as the identity.
    """
    for m in module.modules():
        if m is not module and isinstance(m, BaseModule) and not m.is_init:
            m.init_weights()
