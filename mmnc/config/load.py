"""The config as ``tools/train.py`` and ``tools/test.py`` run it: loaded,
checked (:mod:`mmnc.config.checks`), its work dir resolved, the
visualisation hook turned on."""
import os
import os.path as osp

from mmengine.config import Config

from .checks import check_datasets, check_plugin_config


def work_dir_for(cfg: Config, config_path: str,
                 work_dir: str | None) -> str:
    """--work-dir, else the config's, else ./work_dirs/<config name>."""
    if work_dir is not None:
        return work_dir
    if cfg.get('work_dir') is not None:
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def load_config(args, checkpoint: str | None = None) -> Config:
    """The config as ``tools/train.py`` and ``tools/test.py`` run it:
    ``--cfg-options`` merged, ``--launcher`` set, plugins, dataset (and
    checkpoint) paths checked (once per machine: by local rank 0), the work
    dir resolved."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_plugin_config(cfg)
    if int(os.environ.get('LOCAL_RANK', 0)) == 0:
        check_datasets(cfg, args.config, checkpoint=checkpoint)
    cfg.work_dir = work_dir_for(cfg, args.config, args.work_dir)
    return cfg


def enable_visualization(cfg: Config, show: bool, show_dir: str | None,
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
