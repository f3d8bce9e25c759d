"""What tools/train.py and tools/test.py share: checks and small settings."""
import json
import os
import os.path as osp
from typing import Iterator, Optional, Tuple

import torch
from mmengine.config import Config

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

DEBUG = os.environ.get('MMNC_DEBUG', '0') not in ('', '0')
"""``MMNC_DEBUG=1``: NC and SE blocks check their input for NaN/Inf (read
once, at import)."""


def check_finite(block: torch.nn.Module, x: torch.Tensor) -> None:
    """Raise a FloatingPointError naming ``block`` if its input has NaN/Inf."""
    bad = x.numel() - int(torch.isfinite(x).sum())
    if bad:
        raise FloatingPointError(
            f'{type(block).__name__}(in_channels={block.in_channels}): {bad} '
            f'of {x.numel()} input values (shape {list(x.shape)}) are NaN or '
            f'Inf, so the layers before it already diverged. Lower the '
            f'learning rate, clip gradients (optim_wrapper.clip_grad) or '
            f'check the input data.')


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


def _check_json(path: str, dataset: dict, where: str) -> None:
    """Raise a ValueError naming ``path`` if it is not valid JSON (or COCO)."""
    try:
        with open(path, 'rb') as f:
            data = json.load(f)
    except ValueError as e:
        raise ValueError(
            f'{where} is not valid JSON: {path!r} ({e}). The file is empty, '
            f'truncated or not JSON: make or download it again.') from None
    if 'Coco' in str(dataset.get('type')) and not (
            isinstance(data, dict) and {'images', 'categories'} <= set(data)):
        raise ValueError(
            f'{where} is not a COCO annotation file: {path!r} has no '
            f'"images" and "categories" lists. Point it at an instances_*.json'
            f' file, or make or download it again.')


def check_config(cfg: Config, config_path: str,
                 checkpoint: Optional[str] = None) -> None:
    """Fail early, with the fix, on a missing or unreadable dataset file.

    Dataset and checkpoint paths must exist, JSON annotation files must
    parse (and COCO ones have "images" and "categories"). Training checks
    every dataloader; testing (a checkpoint given) only the test one.
    """
    loaders = _LOADERS if checkpoint is None else ('test_dataloader', )
    for loader in loaders:
        if cfg.get(loader) is None:
            continue
        for key, path, dataset in _dataset_paths(cfg[loader].get('dataset')):
            if not osp.exists(path):
                raise FileNotFoundError(
                    f'{loader}.dataset.{key} does not exist: {path!r} (from '
                    f'{config_path}). Put the dataset there (see the README, '
                    f'"Data"), or point the config at it, e.g. --cfg-options '
                    f'{loader}.dataset.data_root=/path/to/data/')
            if key == 'ann_file' and path.endswith('.json'):
                _check_json(path, dataset, f'{loader}.dataset.{key}')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint!r}')


def work_dir_for(cfg: Config, config_path: str,
                 work_dir: Optional[str]) -> str:
    """--work-dir, else the config's, else ./work_dirs/<config name>."""
    if work_dir is not None:
        return work_dir
    if cfg.get('work_dir') is not None:
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def load_config(args, checkpoint: Optional[str] = None) -> Config:
    """The config as ``tools/train.py`` and ``tools/test.py`` run it:
    ``--cfg-options`` merged, ``--launcher`` set, dataset (and checkpoint)
    paths checked, the work dir resolved."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_config(cfg, args.config, checkpoint=checkpoint)
    cfg.work_dir = work_dir_for(cfg, args.config, args.work_dir)
    return cfg


def enable_visualization(cfg: Config, show: bool, show_dir: Optional[str],
                         wait_time: float) -> None:
    """Turn on the toolbox's visualization hook, as mmdet's --show does."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise RuntimeError('--show/--show-dir need a "visualization" hook in '
                           'default_hooks of the config')
    hook['wait_time'] = wait_time
    hook['show'] = show
    if 'mmpretrain' in str(hook['type']) or cfg.get(
            'default_scope') == 'mmpretrain':
        hook['enable'] = True
        if show_dir:
            hook['out_dir'] = show_dir
    else:
        hook['draw'] = True
        if show_dir:
            hook['test_out_dir'] = show_dir
