"""What tools/train.py and tools/test.py share: checks and small settings."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _dataset_paths(dataset: dict):
    """Yield (key, path) of the files a dataset config points at."""
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
        yield 'data_root', root
    ann = dataset.get('ann_file')
    if ann:
        yield 'ann_file', ann if osp.isabs(ann) else osp.join(root, ann)


def check_config(cfg: Config, config_path: str,
                 checkpoint: Optional[str] = None) -> None:
    """Fail early, with the fix, on a missing dataset or checkpoint path.

    Training checks every dataloader; testing (a checkpoint given) only the
    test one.
    """
    loaders = _LOADERS if checkpoint is None else ('test_dataloader', )
    for loader in loaders:
        if cfg.get(loader) is None:
            continue
        for key, path in _dataset_paths(cfg[loader].get('dataset')):
            if not osp.exists(path):
                raise FileNotFoundError(
                    f'{loader}.dataset.{key} does not exist: {path!r} (from '
                    f'{config_path}). Put the dataset there (see the README, '
                    f'"Data"), or point the config at it, e.g. --cfg-options '
                    f'{loader}.dataset.data_root=/path/to/data/')
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
