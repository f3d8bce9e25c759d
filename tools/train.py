"""Train a detector, segmentor or classifier: mmdet's tools/train.py flags.

The config's ``default_scope`` (mmdet, mmseg or mmpretrain) picks the toolbox.
``--test-last`` (as mmaction2's) then tests the trained model as
``tools/test.py`` of the last checkpoint would, in the same process: the
metrics and ``per_image.npz`` in the training's ``<timestamp>`` dir.
"""
import argparse
import os
import os.path as osp
import shutil

from mmengine.config import DictAction

import mmnc  # noqa: F401  (registers mmnc's modules)
from mmnc.config import load_config
from mmnc.utils import (
    build_runner,
    destroy_cpu_distributed,
    init_cpu_distributed,
    run_test,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp', action='store_true',
        help='enable automatic-mixed-precision training (needs a GPU)')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='enable automatically scaling LR by the total batch size')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint; without a path, resume from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--test-last', action='store_true',
        help='after training, test the last model on the test split, as '
        'tools/test.py does (metrics JSON and per_image.npz)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value, e.g. '
        'train_cfg.max_iters=10')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args)
    lacking = [k for k in ('test_dataloader', 'test_evaluator', 'test_cfg')
               if args.test_last and cfg.get(k) is None]
    if lacking:
        raise ValueError(f'--test-last: the config has no {", ".join(lacking)}'
                         f'; add them (as for tools/test.py) or leave out '
                         f'--test-last')

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print('AMP training is already enabled in your config.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if cfg.get('auto_scale_lr', {}).get('base_batch_size') is None:
            raise RuntimeError(
                'Can not find "auto_scale_lr" or '
                '"auto_scale_lr.base_batch_size" in your config.')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume

    cpu_dist = init_cpu_distributed(cfg)
    fresh = not osp.isdir(cfg.work_dir)
    try:
        runner = build_runner(cfg)
    except Exception:  # e.g. a config error: leave no half-made work dir
        if fresh and int(os.environ.get('LOCAL_RANK', 0)) == 0:
            shutil.rmtree(cfg.work_dir, ignore_errors=True)
        raise
    runner.train()
    if args.test_last:
        run_test(runner, cfg)
    if cpu_dist:
        destroy_cpu_distributed()


if __name__ == '__main__':
    main()
