"""The checks ``tools/train.py`` and ``tools/test.py`` run on a config
before building a runner (dataset files, plugin lists), so that bad input
fails early with the fix in the message."""
import inspect
import json
import os
import os.path as osp
from typing import Any, Iterator, Tuple

from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, DefaultScope

from mmnc.layers import check_plugin_type, check_plugins, split_plugins
from mmnc.registry import TOOLBOXES, get_host

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_RESNET_POSITIONS = ('after_conv1', 'after_conv2', 'after_conv3')
FULL_PARSE_BYTES = 16 << 20
"""JSON annotation files up to this size are parsed by the check; larger
ones (COCO train, ~450 MB) only have their ends looked at."""


def _dataset_paths(dataset: dict) -> Iterator[Tuple[str, str, dict]]:
    """Yield (key, path, dataset) of the files a dataset config points at."""
    if dataset is None:
        return
    if 'datasets' in dataset:  # ConcatDataset
        for d in dataset['datasets']:
            yield from _dataset_paths(d)
        return
    if 'dataset' in dataset:  # RepeatDataset, ClassBalancedDataset, ...
        yield from _dataset_paths(dataset['dataset'])
        return
    root = dataset.get('data_root') or ''
    if root:
        yield 'data_root', root, dataset
    ann = dataset.get('ann_file')
    if ann:
        yield ('ann_file', ann if osp.isabs(ann) else osp.join(root, ann),
               dataset)


def _downloads_itself(dataset: dict, scope: str | None) -> bool:
    """True for a dataset that fetches its files when they are missing
    (mmpretrain's CIFAR/MNIST with ``download=True``, their default)."""
    if 'download' in dataset:
        return bool(dataset['download'])
    with DATASETS.switch_scope_and_registry(scope) as registry:
        cls = registry.get(dataset.get('type'))
    if cls is None:
        return False
    param = inspect.signature(cls).parameters.get('download')
    return param is not None and param.default is True


def _check_json(path: str, dataset: dict, where: str) -> None:
    """Raise a ValueError naming ``path`` if it is not JSON (or not COCO).

    Small files are parsed; a large one is only checked to start and end
    like JSON (the dataset parses it anyway), which finds the empty and
    truncated files that downloads leave.
    """
    bad = (f'{where} is not valid JSON: {path!r} ({{}}). The file is empty, '
           f'truncated or not JSON: make or download it again.')
    if osp.getsize(path) > FULL_PARSE_BYTES:
        with open(path, 'rb') as f:
            head = f.read(64).lstrip()[:1]
            f.seek(-64, os.SEEK_END)
            tail = f.read().rstrip()[-1:]
        if (head, tail) not in ((b'{', b'}'), (b'[', b']')):
            raise ValueError(bad.format('it does not start and end like a '
                                        'JSON object or list'))
        return
    try:
        with open(path, 'rb') as f:
            data = json.load(f)
    except ValueError as e:
        raise ValueError(bad.format(e)) from None
    if 'Coco' in str(dataset.get('type')) and not (
            isinstance(data, dict) and {'images', 'categories'} <= set(data)):
        raise ValueError(
            f'{where} is not a COCO annotation file: {path!r} has no '
            f'"images" and "categories" lists. Point it at an instances_*.json'
            f' file, or make or download it again.')


def check_datasets(cfg: Config, config_path: str,
                   checkpoint: str | None = None) -> None:
    """Fail early, with the fix, on a missing or unreadable dataset file.

    Dataset and checkpoint paths must exist (unless the dataset downloads
    itself), JSON annotation files must look like JSON (COCO ones have
    "images" and "categories"). Training checks every dataloader; testing
    (a checkpoint given) only the test one.
    """
    loaders = _LOADERS if checkpoint is None else ('test_dataloader', )
    scope = cfg.get('default_scope')
    for loader in loaders:
        if cfg.get(loader) is None:
            continue
        for key, path, dataset in _dataset_paths(cfg[loader].get('dataset')):
            if not osp.exists(path):
                if _downloads_itself(dataset, scope):
                    continue
                raise FileNotFoundError(
                    f'{loader}.dataset.{key} does not exist: {path!r} (from '
                    f'{config_path}). Put the dataset there (see the README, '
                    f'"Data"), or point the config at it, e.g. --cfg-options '
                    f'{loader}.dataset.data_root=/path/to/data/')
            if key == 'ann_file' and path.endswith('.json'):
                _check_json(path, dataset, f'{loader}.dataset.{key}')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint!r}')


def _plugin_hosts(node: Any, path: str = 'model'
                  ) -> Iterator[Tuple[str, dict]]:
    """Yield (path, cfg) of every module cfg with a ``plugins`` list."""
    if isinstance(node, dict):
        if node.get('plugins'):
            yield path, node
        for k, v in node.items():
            yield from _plugin_hosts(v, f'{path}.{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _plugin_hosts(v, f'{path}.{i}')


def check_plugin_config(cfg: Config) -> None:
    """Check every ``plugins`` list in ``cfg.model`` before anything is built.

    Block types must be registered (a misspelling names the known blocks).
    For upstream ResNets, which check nothing themselves, positions and
    ``stages`` must fit; a host without plugins (mmpretrain's ResNets, the
    BasicBlock depths 18 and 34 of mmdet's and mmseg's) and mmseg's two
    silent cases (several plugins at one position, plugins after conv1/conv2
    of a grouped ResNeXt) are refused with the mmnc host to use instead.
    """
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        for path, host in _plugin_hosts(cfg.get('model')):
            for i, p in enumerate(host['plugins']):
                cfg_i = p.get('cfg') if isinstance(p, dict) else None
                if not isinstance(cfg_i, dict) or 'type' not in cfg_i:
                    raise ValueError(
                        f'{path}.plugins.{i} must be dict(cfg=dict(type=...),'
                        f' position=..., stages=...), got {p!r}')
                check_plugin_type(cfg_i['type'])
            _check_upstream_resnet(path, host)


def _check_upstream_resnet(path: str, host: dict) -> None:
    with MODELS.switch_scope_and_registry(None) as registry:
        cls = registry.get(host.get('type'))
    if (not inspect.isclass(cls) or cls.__module__.startswith('mmnc.')
            or cls.__module__.split('.')[0] not in TOOLBOXES):
        return  # mmnc's hosts check their plugins themselves
    toolbox = cls.__module__.split('.')[0]
    name = f'{toolbox}.{cls.__name__}'
    fix = (f"use type='mmnc.{cls.__name__}' ({name} with plugins; same "
           f'arguments, same checkpoints)')
    if not hasattr(cls, 'make_stage_plugins'):
        if ('plugins' not in inspect.signature(cls).parameters
                and _has_mmnc_host(cls.__name__, toolbox)):
            raise ValueError(f'{path}: {name} takes no plugins; {fix}')
        return
    depth = host.get('depth')
    block = getattr(cls, 'arch_settings', {}).get(depth, (None, ))[0]
    if block is not None and block.__name__ == 'BasicBlock':
        raise ValueError(
            f'{path}: {name}-{depth} is made of BasicBlocks, which take no '
            f'plugins in {cls.__module__}; {fix}, whose BasicBlocks take them'
            f" at 'after_conv1' and 'after_conv2'")
    num_stages = host.get('num_stages', 4)
    check_plugins(host['plugins'], _RESNET_POSITIONS, num_stages,
                  f'{path} ({name})')
    if toolbox == 'mmseg':
        _check_mmseg_resnet(path, host, cls, num_stages)


def _has_mmnc_host(name: str, toolbox: str) -> bool:
    try:
        get_host(name, toolbox)
    except (KeyError, ValueError):
        return False
    return True


def _is_mmnc_block(layer_type: Any) -> bool:
    if not inspect.isclass(layer_type):
        with MODELS.switch_scope_and_registry(None) as registry:
            layer_type = registry.get(layer_type)
    return getattr(layer_type, '__module__', '').startswith('mmnc.')


def _check_mmseg_resnet(path: str, host: dict, cls: type,
                        num_stages: int) -> None:
    """mmseg's ResNets compute something else than asked when plugins
    share a position, or sit after conv1/conv2 of a grouped ResNeXt: refuse
    that for mmnc's blocks (``refuse_broken_mmseg_host`` does it at build
    time for mmseg's own tools)."""
    from mmseg.models.backbones import ResNeXt

    from mmnc.models.seg.upstream_guard import (
        mmseg_resnext_width,
        mmseg_unchained_message,
        mmseg_width_message,
    )
    stages = split_plugins(host['plugins'], num_stages, _RESNET_POSITIONS,
                           f'{path} ({cls.__name__})')
    for cfgs in stages:
        for position, plugins in cfgs.items():
            types = [p['type'] for p in plugins]
            if len(types) > 1 and any(map(_is_mmnc_block, types)):
                raise ValueError(f'{path}: ' + mmseg_unchained_message(
                    cls.__name__, position, types))
    if not issubclass(cls, ResNeXt):
        return
    base_channels = host.get('base_channels', 64)
    for i, cfgs in enumerate(stages):
        planes = base_channels * 2**i
        width = mmseg_resnext_width(planes, host.get('groups', 1),
                                    host.get('base_width', 4), base_channels)
        for position in ('after_conv1', 'after_conv2'):
            for p in cfgs[position]:
                if width != planes and _is_mmnc_block(p['type']):
                    raise ValueError(f'{path}: ' + mmseg_width_message(
                        position, p['type'], planes, width))
