"""Plugins in the ResNets of mmdet and mmseg, whose blocks share one design.

Mixins that, put before an upstream class, give it what upstream lacks:

- :class:`BasicBlockPlugins`: plugins in a ``BasicBlock`` (ResNet-18/34),
  which upstream refuses (``assert plugins is None``);
- :class:`BottleneckPlugins`: a ``Bottleneck`` (also ResNeXt's) whose
  plugins are built once the block is complete, for the channels its convs
  have (mmseg's ResNeXt builds them for ``planes`` instead of the grouped
  width), and chained at each position (mmseg's ``forward_plugin`` gives
  every plugin the block's input and keeps the last output);
- :class:`ResNetPlugins`: the host, which takes upstream's arguments (a
  drop-in, :mod:`.drop_in`), checks ``plugins`` against the positions its
  blocks have before building, and gives its blocks the zero-init of the
  last BN that upstream gives only to its own classes;
- :func:`plugin_hosts`: the hosts of one toolbox (``mmnc.ResNet``, ...),
  made of the above and its classes, one description for mmdet and mmseg.

Upstream's module and parameter names are kept, so upstream checkpoints load
(missing keys: the plugins') and, with no plugins, a seeded build and
``init_weights()`` give upstream's weights exactly.
"""
import copy
from types import ModuleType
from typing import Dict, List, Sequence

import torch
import torch.utils.checkpoint as cp

from mmnc.layers import add_plugins, check_plugins, init_unreached
from mmnc.models.drop_in import DropIn
from mmnc.registry import register_host


def with_blocks(arch_settings: dict, blocks: Dict[type, type]) -> dict:
    """``arch_settings`` of an upstream ResNet with its block classes
    replaced by ``blocks[upstream class]``."""
    return {depth: (blocks[block], stage_blocks)
            for depth, (block, stage_blocks) in arch_settings.items()}


class BottleneckPlugins:
    """Plugins at 'after_conv1', 'after_conv2', 'after_conv3' (after the
    last BN, before the residual addition) of an mmdet/mmseg Bottleneck,
    built for the channels of the convs before them and chained in the
    order of the ``plugins`` list."""

    plugin_positions = ('after_conv1', 'after_conv2', 'after_conv3')
    zero_init_norm: str | None = 'norm3'
    """The BN upstream zero-inits with ``zero_init_residual`` (None: upstream
    does not, as for ResNeXt, whose block is not its ``Bottleneck``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.with_plugins:
            return
        check_plugins(self.plugins, self.plugin_positions,
                      host=type(self).__name__)
        for position, conv in zip(self.plugin_positions,
                                  (self.conv1, self.conv2, self.conv3)):
            names = add_plugins(self, conv.out_channels,
                                getattr(self, f'{position}_plugins'))
            setattr(self, f'{position}_plugin_names', names)

    def make_block_plugins(self, in_channels: int,
                           plugins: List[dict]) -> List[str]:
        """Build nothing yet: upstream calls this before the block is
        complete (ResNeXt then changes the widths); ``__init__`` builds."""
        return []

    def forward_plugin(self, x: torch.Tensor,
                       plugin_names: Sequence[str]) -> torch.Tensor:
        for name in plugin_names:
            x = getattr(self, name)(x)
        return x


class BasicBlockPlugins:
    """Plugins at 'after_conv1' (after conv1-bn1-relu) and 'after_conv2'
    (after bn2, before the residual addition) of an mmdet/mmseg BasicBlock.

    Args:
        plugins (list[dict], optional): ``dict(cfg=..., position=...)``
            entries, as mmdet's ResNet gives a block. Default: None.
    """

    plugin_positions = ('after_conv1', 'after_conv2')
    zero_init_norm: str | None = 'norm2'

    def __init__(self, *args, plugins: List[dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)  # upstream takes no plugins
        check_plugins(plugins, self.plugin_positions,
                      host=type(self).__name__)
        self.plugins = plugins
        self.with_plugins = bool(plugins)
        for position, conv in zip(self.plugin_positions,
                                  (self.conv1, self.conv2)):
            cfgs = [p['cfg'] for p in plugins or ()
                    if p['position'] == position]
            setattr(self, f'{position}_plugins', cfgs)
            setattr(self, f'{position}_plugin_names',
                    add_plugins(self, conv.out_channels, cfgs))

    def forward_plugin(self, x: torch.Tensor,
                       plugin_names: Sequence[str]) -> torch.Tensor:
        for name in plugin_names:
            x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:

        def _inner_forward(x):
            out = self.relu(self.norm1(self.conv1(x)))
            out = self.forward_plugin(out, self.after_conv1_plugin_names)
            out = self.norm2(self.conv2(out))
            out = self.forward_plugin(out, self.after_conv2_plugin_names)
            identity = x if self.downsample is None else self.downsample(x)
            return out + identity

        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(_inner_forward, x, use_reentrant=False)
        else:
            out = _inner_forward(x)
        return self.relu(out)


class ResNetPlugins(DropIn):
    """An mmdet/mmseg ResNet whose ``arch_settings`` hold plugin-capable
    blocks: upstream's arguments (a drop-in, :mod:`.drop_in`); checks
    ``plugins`` before building and keeps upstream's
    ``zero_init_residual``."""

    def __init__(self, *args, **kwargs):
        named = self.upstream_arguments(args, kwargs)
        depth = named.get('depth')
        setting = self.arch_settings.get(depth)
        if setting is not None:  # else upstream says "invalid depth"
            block = setting[0]
            check_plugins(
                named.get('plugins'), block.plugin_positions,
                named.get('num_stages', 4),
                f'mmnc.{type(self).__name__}-{depth} '
                f'({block.__bases__[-1].__name__}s)')
        super().__init__(*args, **kwargs)
        self._init_last_norms(named)

    def _init_last_norms(self, kwargs: dict) -> None:
        """Upstream gives its blocks a zero-init of their last BN when no
        init_cfg or pretrained is given, but only if the block class *is*
        its own ``BasicBlock``/``Bottleneck``; same here for ours."""
        norm = self.block.zero_init_norm
        if (norm is None or kwargs.get('init_cfg') is not None
                or kwargs.get('pretrained') is not None
                or not kwargs.get('zero_init_residual', True)):
            return
        cfg = dict(type='Constant', val=0, override=dict(name=norm))
        for name in self.res_layers:
            for block in getattr(self, name):
                block.init_cfg = copy.deepcopy(cfg)

    def init_weights(self) -> None:
        super().init_weights()
        init_unreached(self)


def plugin_hosts(scope: str, resnet: ModuleType, resnext: ModuleType,
                 names: Sequence[str], module: str) -> Dict[str, type]:
    """The plugin-capable ResNets of an mmdet-style toolbox, registered as
    ``mmnc.<name>`` for ``scope``.

    Args:
        scope (str): 'mmdet' or 'mmseg'.
        resnet (module): The toolbox's ``models.backbones.resnet``.
        resnext (module): The toolbox's ``models.backbones.resnext``.
        names (Sequence[str]): The hosts, upstream's class names
            ('ResNet', 'ResNetV1c', 'ResNetV1d', 'ResNeXt').
        module (str): The module the classes belong to (``__name__``).

    Returns:
        dict: The hosts by name, and their blocks ('BasicBlock',
        'Bottleneck', 'ResNeXtBottleneck').
    """

    def make(name: str, bases: tuple, doc: str, **attrs) -> type:
        return type(name, bases, dict(__module__=module, __qualname__=name,
                                      __doc__=doc, **attrs))

    blocks = {
        resnet.BasicBlock: make(
            'BasicBlock', (BasicBlockPlugins, resnet.BasicBlock),
            f"{scope}'s ``BasicBlock`` with plugins after conv1 and conv2."),
        resnet.Bottleneck: make(
            'Bottleneck', (BottleneckPlugins, resnet.Bottleneck),
            f"{scope}'s ``Bottleneck`` with plugins, chained."),
    }
    resnext_block = make(
        'ResNeXtBottleneck', (BottleneckPlugins, resnext.Bottleneck),
        f"{scope}'s ResNeXt ``Bottleneck`` with plugins for the grouped "
        'width, chained.', zero_init_norm=None)  # upstream does not either
    hosts = {block.__name__: block for block in blocks.values()}
    hosts['ResNeXtBottleneck'] = resnext_block
    for name in names:
        if name == 'ResNeXt':
            upstream = resnext.ResNeXt
            settings = with_blocks(upstream.arch_settings,
                                   {resnext.Bottleneck: resnext_block})
        else:
            upstream = getattr(resnet, name)
            settings = with_blocks(upstream.arch_settings, blocks)
        hosts[name] = register_host(scope)(make(
            name, (ResNetPlugins, upstream),
            f"{scope}'s ``{name}`` whose blocks all take plugins "
            f"(``type='mmnc.{name}'``): upstream's arguments, plus "
            "``plugins`` as upstream's ResNet takes them, "
            "``dict(cfg=..., stages=(bool, ...), position=...)`` with "
            "position 'after_conv1', 'after_conv2' and, in Bottlenecks, "
            "'after_conv3'.",
            arch_settings=settings))
    return hosts
