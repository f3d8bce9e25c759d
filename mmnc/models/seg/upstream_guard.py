"""A guard for mmseg's own ResNets, which mmnc does not change.

They compute something else than asked in two cases (mmnc's mmseg hosts do
not): several plugins at one position (mmseg's ``forward_plugin`` gives each
the block's input and keeps the last output), and plugins after conv1/conv2
of a grouped ResNeXt (built for ``planes``, not the grouped width). A config
or model that puts mmnc's blocks there is refused, naming the fix, by:

- :func:`mmnc.config.check_plugin_config`, on the config, before building
  (mmnc's tools run it);
- :func:`check_mmseg_model`, on a built model (a walk over its modules);
- the blocks' entries in mmseg's scope (:class:`NCBlockForMMSeg`,
  :class:`SEBlockForMMSeg`), for mmseg's own ``tools/train.py``, which runs
  neither: the one route that has to look at its caller.
"""
import math
import sys
import warnings
from typing import Sequence

import torch.nn as nn
from mmseg.models.backbones import resnet as _resnet
from mmseg.models.backbones import resnext as _resnext
from mmseg.registry import MODELS as MMSEG_MODELS

from mmnc.layers import NCBlock, SEBlock

MMSEG_HOSTS = ('ResNet', 'ResNetV1c', 'ResNetV1d', 'ResNeXt')
"""mmseg's ResNets that mmnc extends (``type='mmnc.ResNetV1c'``, ...)."""


def mmseg_unchained_message(host: str, position: str,
                            types: Sequence[str]) -> str:
    fix = (f"Use type='mmnc.{host}' (mmseg's {host} whose plugins chain; "
           f'same arguments, same checkpoints), or one plugin per position.'
           if host in MMSEG_HOSTS else 'Put one plugin per position.')
    return (
        f"{len(types)} plugins at '{position}' of mmseg's {host} "
        f'({", ".join(map(str, types))}) would not chain: mmseg\'s '
        f'Bottleneck.forward_plugin gives each one the block\'s input and '
        f'keeps only the last one\'s output, so all but the last would be '
        f'silently ignored. {fix}')


def mmseg_width_message(position: str, block: str, planes: int,
                        width: int) -> str:
    return (
        f"{block} at '{position}' of mmseg's grouped ResNeXt would be built "
        f'for {planes} channels where the block has {width}: mmseg builds '
        f'the plugins after conv1/conv2 for `planes`, not the grouped width, '
        f"and the network fails at its first forward. Use type='mmnc.ResNeXt'"
        f" (mmseg's ResNeXt with plugins of the right width; same arguments,"
        f' same checkpoints).')


def mmseg_resnext_width(planes: int, groups: int, base_width: int,
                        base_channels: int) -> int:
    """The channels after conv1/conv2 of mmseg's (and mmdet's) ResNeXt."""
    if groups == 1:
        return planes
    return math.floor(planes * (base_width / base_channels)) * groups


def _is_mmnc(module: nn.Module) -> bool:
    return type(module).__module__.startswith('mmnc.')


def check_mmseg_model(model: nn.Module) -> None:
    """Raise a ValueError naming the fix if ``model`` holds one of mmseg's
    own ResNets with mmnc blocks where it computes something else.

    Needs only the built modules: an mmseg Bottleneck whose
    ``forward_plugin`` is mmseg's with several plugins at one position, one
    of them mmnc's; an mmnc block whose ``in_channels`` differ from the
    conv before it. mmnc's hosts (``mmnc.ResNet``, ...) always pass.
    """
    for host in model.modules():
        if not isinstance(host, _resnet.ResNet) or _is_mmnc(host):
            continue
        for block in host.modules():
            if (not isinstance(block, _resnet.Bottleneck)
                    or not block.with_plugins):
                continue
            for i, position in enumerate(('after_conv1', 'after_conv2',
                                          'after_conv3'), 1):
                plugins = [getattr(block, n) for n in
                           getattr(block, f'{position}_plugin_names')]
                if not any(map(_is_mmnc, plugins)):
                    continue
                if (len(plugins) > 1 and type(block).forward_plugin
                        is _resnet.Bottleneck.forward_plugin):
                    raise ValueError(mmseg_unchained_message(
                        type(host).__name__, position,
                        [type(p).__name__ for p in plugins]))
                width = getattr(block, f'conv{i}').out_channels
                for p in plugins:
                    if _is_mmnc(p) and p.in_channels != width:
                        raise ValueError(mmseg_width_message(
                            position, type(p).__name__, p.in_channels,
                            width))


_FRAMES = 16  # build_plugin_layer is 1-2 frames below make_block_plugins


def _find_frame(frame, function):
    """The nearest calling frame that runs ``function``, or None."""
    code = getattr(function, '__code__', None)
    for _ in range(_FRAMES):
        frame = frame.f_back if frame is not None else None
        if frame is None or frame.f_code is code:
            return frame
    return None


def _cannot_inspect(block: str, what: str) -> None:
    version = getattr(sys.modules.get('mmseg'), '__version__', '?')
    warnings.warn(
        f"{block} is built by mmseg's own ResNet, but mmnc cannot read "
        f"{what} in mmseg {version}: it cannot check for mmseg's unchained "
        f"plugins or its grouped-width bug. Use type='mmnc.<ResNet class>' "
        f'(mmseg\'s ResNets with plugins that chain, same checkpoints).',
        stacklevel=4)


def refuse_broken_mmseg_host(block: str) -> None:
    """Raise a ValueError if mmseg's own ResNet is building ``block`` where
    it would silently compute something else (see the module docstring).

    Why it looks at its caller: mmseg's ``tools/train.py`` builds the whole
    model in one call and trains it; between the config and the first step
    no mmnc code runs except the plugin's own construction, which mmseg's
    ``Bottleneck.make_block_plugins`` asks for with nothing but
    ``in_channels``. So this finds that frame (matched by code object, so
    mmnc's hosts, which override it, never match) and reads upstream's
    arguments there: ``self`` and ``plugins`` of ``make_block_plugins``;
    ``planes``, ``groups``, ``base_width``, ``base_channels`` of the ResNeXt
    ``Bottleneck.__init__``. If another mmseg names them otherwise, it warns
    that it cannot check and lets the build go on.
    """
    frame = sys._getframe(1)
    try:
        found = _find_frame(frame, _resnet.Bottleneck.make_block_plugins)
        if found is None:
            return
        bottleneck = found.f_locals.get('self')
        plugins = found.f_locals.get('plugins')
        position = next((p for p in ('after_conv1', 'after_conv2',
                                     'after_conv3')
                         if getattr(bottleneck, f'{p}_plugins', None)
                         is plugins), None)
        if position is None:
            return _cannot_inspect(block, 'the plugins being built')
        if (len(plugins) > 1 and type(bottleneck).forward_plugin
                is _resnet.Bottleneck.forward_plugin):
            host = _find_host(found)
            raise ValueError(mmseg_unchained_message(
                host, position, [p.get('type') for p in plugins]))
        init = _find_frame(found, _resnext.Bottleneck.__init__)
        if init is None or position == 'after_conv3':
            return
        args = init.f_locals
        try:
            planes = args['planes']
            width = mmseg_resnext_width(planes, args['groups'],
                                        args['base_width'],
                                        args['base_channels'])
        except (KeyError, TypeError, ZeroDivisionError):
            return _cannot_inspect(block, "the grouped ResNeXt's width")
        if width != planes:
            raise ValueError(
                mmseg_width_message(position, block, planes, width))
    finally:
        del frame


def _find_host(frame) -> str:
    """The class name of the mmseg ResNet being built above ``frame``."""
    for _ in range(_FRAMES):
        frame = frame.f_back
        if frame is None:
            break
        obj = frame.f_locals.get('self')
        if isinstance(obj, _resnet.ResNet):
            return type(obj).__name__
    return 'ResNet'


class _GuardedBlock:
    """The entry of an mmnc block in mmseg's scope, where mmcv's
    ``build_plugin_layer`` finds it before the root registry's: it runs
    :func:`refuse_broken_mmseg_host`, then returns the block itself (an
    instance of the root registry's class, not of this one)."""

    block: type

    def __new__(cls, *args, **kwargs) -> nn.Module:
        refuse_broken_mmseg_host(cls.block.__name__)
        return cls.block(*args, **kwargs)


@MMSEG_MODELS.register_module(name='NCBlock')
class NCBlockForMMSeg(_GuardedBlock):
    """``type='NCBlock'`` in mmseg's scope: an :class:`mmnc.layers.NCBlock`,
    refused where mmseg's own ResNet would mis-build it."""

    block = NCBlock
    _abbr_ = NCBlock._abbr_


@MMSEG_MODELS.register_module(name='SEBlock')
class SEBlockForMMSeg(_GuardedBlock):
    """``type='SEBlock'`` in mmseg's scope: an :class:`mmnc.layers.SEBlock`,
    refused where mmseg's own ResNet would mis-build it."""

    block = SEBlock
    _abbr_ = SEBlock._abbr_
