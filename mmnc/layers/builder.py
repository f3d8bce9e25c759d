"""A clearer error than mmcv's "Cannot find None in registry" for plugins."""
import importlib
from functools import wraps

from mmcv.cnn.bricks import plugin as _mmcv_plugin
from mmengine.registry import MODELS

_orig_build_plugin_layer = _mmcv_plugin.build_plugin_layer
# Modules that bound mmcv's build_plugin_layer by name at import.
_HOSTS = ('mmcv.cnn', 'mmcv.cnn.bricks', 'mmcv.cnn.bricks.plugin',
          'mmdet.models.backbones.resnet', 'mmseg.models.backbones.resnet')
_PLUGIN_TYPES = ('NCBlock', 'SEBlock', 'ContextBlock', 'GeneralizedAttention',
                 'NonLocal2d')


@wraps(_orig_build_plugin_layer)
def build_plugin_layer(cfg: dict, postfix: str = '', **kwargs):
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'A plugin cfg must be a dict with a "type" key, e.g. '
                        f"dict(type='NCBlock'); got {cfg!r}")
    layer_type = cfg['type']
    if isinstance(layer_type, str) and MODELS.get(layer_type) is None:
        known = [t for t in _PLUGIN_TYPES if MODELS.get(t) is not None]
        raise KeyError(
            f'Unknown plugin type {layer_type!r}. Known plugin blocks: '
            f'{", ".join(known)}. Check the spelling, and that the config '
            f"imports mmnc: custom_imports = dict(imports=['mmnc'], "
            f'allow_failed_imports=False).')
    try:
        return _orig_build_plugin_layer(cfg, postfix, **kwargs)
    except TypeError as e:  # e.g. a misspelled keyword of the block
        raise TypeError(f'Cannot build plugin {cfg!r}: {e}') from e


def check_plugins(plugins, positions, num_stages=None, host='ResNet'):
    """Raise a clear error for a plugin list the host cannot take.

    Args:
        plugins (list[dict]): ``dict(cfg=..., position=..., stages=...)``.
        positions (Sequence[str]): The positions the host has.
        num_stages (int, optional): The host's number of stages, checked
            against each ``stages`` tuple.
        host (str): The host's name, for the message.
    """
    for p in plugins or []:
        if not isinstance(p, dict) or 'cfg' not in p or 'position' not in p:
            raise ValueError(
                f'{host}: each plugin must be dict(cfg=dict(type=...), '
                f'position=..., stages=...), got {p!r}')
        if p['position'] not in positions:
            raise ValueError(
                f'{host}: plugin {p["cfg"].get("type")!r} is at position '
                f'{p["position"]!r}, which this host does not have; use one '
                f'of {tuple(positions)}')
        stages = p.get('stages')
        if (stages is not None and num_stages is not None
                and len(stages) != num_stages):
            raise ValueError(
                f'{host}: plugin {p["cfg"].get("type")!r} has stages={stages}'
                f' but the host has {num_stages} stages; give one flag each')


def _checked_make_stage_plugins(orig):
    @wraps(orig)
    def make_stage_plugins(self, plugins, stage_idx):
        positions = ('after_conv1', 'after_conv2', 'after_conv3')
        if plugins and getattr(self, 'block', None) is not None and \
                self.block.expansion == 1:
            raise ValueError(
                f'{type(self).__name__}-{self.depth} uses BasicBlock, which '
                f'takes no plugins in {type(self).__module__}; use a '
                f'Bottleneck ResNet (depth >= 50) or mmnc\'s CifarResNet')
        check_plugins(plugins, positions, self.num_stages, type(self).__name__)
        return orig(self, plugins, stage_idx)

    make_stage_plugins._mmnc = True
    return make_stage_plugins


def patch_hosts() -> None:
    """Route every host's ``build_plugin_layer`` through the wrapper."""
    for name in _HOSTS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, 'build_plugin_layer', None) is not None:
            module.build_plugin_layer = build_plugin_layer
        resnet = getattr(module, 'ResNet', None)
        make = getattr(resnet, 'make_stage_plugins', None)
        if make is not None and not getattr(make, '_mmnc', False):
            resnet.make_stage_plugins = _checked_make_stage_plugins(
                resnet.make_stage_plugins)
