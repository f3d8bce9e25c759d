"""A guard for mmseg's own ResNets, which mmnc does not change.

They compute something else than asked in two cases (mmnc's mmseg hosts do
not); an mmnc block built there refuses, naming the fix. Registered as one
of the blocks' build checks (:data:`mmnc.layers.plugins.BUILD_CHECKS`) when
``mmnc.models.seg`` is imported; ``tools/train.py`` checks configs before
building (:func:`mmnc.utils.check_plugin_config`) with the same messages.
"""
import inspect
import math
import sys
import warnings
from typing import Sequence

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


_FRAMES = 16  # NCBlock.__init__ is ~6 frames below make_block_plugins


def refuse_broken_mmseg_host(block: str) -> None:
    """Raise a ValueError if mmseg's own ResNet is building ``block`` where
    it would silently compute something else.

    Called by mmnc's blocks from their constructors, for users of mmseg's
    own tools (``tools/train.py`` of mmnc checks configs before building:
    :func:`mmnc.utils.check_plugin_config`). It looks up the calling frames
    for mmseg's ``Bottleneck.make_block_plugins`` (matched by code object,
    so mmnc's subclasses and any other override do not match), and refuses:

    - several plugins at one position, when the block's ``forward_plugin``
      is mmseg's (which does not chain them);
    - a plugin after conv1 or conv2 of mmseg's own grouped ResNeXt block,
      built for ``planes`` channels where the block has the grouped width.

    It reads mmseg 1.x's local names (``self``, ``plugins``, ``planes``,
    ``groups``, ``base_width``, ``base_channels``); if it finds mmseg's frame
    but cannot read them (another mmseg), it warns that the two cases are not
    checked and lets the build go on (``tests/test_mmnc_hosts.py`` pins what
    it catches). Without mmseg's ResNet imported it does nothing.
    """
    resnet = sys.modules.get('mmseg.models.backbones.resnet')
    if resnet is None:
        return
    frame = inspect.currentframe()
    try:
        found = _find_frame(frame, resnet.Bottleneck.make_block_plugins)
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
        host = _mmseg_host_name(found, resnet.ResNet)
        if (len(plugins) > 1 and type(bottleneck).forward_plugin
                is resnet.Bottleneck.forward_plugin):
            raise ValueError(mmseg_unchained_message(
                host, position, [p.get('type') for p in plugins]))
        resnext = sys.modules.get('mmseg.models.backbones.resnext')
        init = None if resnext is None else _find_frame(
            found, resnext.Bottleneck.__init__)
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


def _cannot_inspect(block: str, what: str) -> None:
    version = getattr(sys.modules.get('mmseg'), '__version__', '?')
    warnings.warn(
        f"{block} is built by mmseg's own ResNet, but mmnc cannot read "
        f"{what} in mmseg {version}: it cannot check for mmseg's unchained "
        f"plugins or its grouped-width bug. Use type='mmnc.<ResNet class>' "
        f'(mmseg\'s ResNets with plugins that chain, same checkpoints).',
        stacklevel=4)


def _find_frame(frame, function):
    """The nearest calling frame that runs ``function``, or None."""
    code = getattr(function, '__code__', None)
    for _ in range(_FRAMES):
        frame = frame.f_back if frame is not None else None
        if frame is None or frame.f_code is code:
            return frame
    return None


def _mmseg_host_name(frame, resnet_cls: type) -> str:
    """The class name of the mmseg ResNet being built above ``frame``."""
    for _ in range(_FRAMES):
        frame = frame.f_back
        if frame is None:
            break
        obj = frame.f_locals.get('self')
        if isinstance(obj, resnet_cls):
            return type(obj).__name__
    return 'ResNet'
