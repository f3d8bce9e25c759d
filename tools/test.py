"""Test a detector, segmentor or classifier: mmdet's tools/test.py flags.

The config's ``default_scope`` (mmdet, mmseg or mmpretrain) picks the toolbox.
Beside the metrics (``WORK_DIR/<timestamp>/<timestamp>.json``) it writes
``WORK_DIR/<timestamp>/per_image.npz``, what each test image contributes to
them (:mod:`mmnc.evaluation.per_image`; ``--no-per-image``: not), which
``tools/analysis/compare.py`` resamples for its intervals.
"""
import argparse

from mmengine.config import DictAction

import mmnc  # noqa: F401  (registers mmnc's modules)
from mmnc.config import enable_visualization, load_config
from mmnc.utils import (
    build_runner,
    destroy_cpu_distributed,
    init_cpu_distributed,
    run_test,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the metrics')
    parser.add_argument(
        '--out', type=str,
        help='dump the predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--no-per-image', action='store_true',
        help='do not write <timestamp>/per_image.npz (per-image results)')
    parser.add_argument('--show', action='store_true', help='show results')
    parser.add_argument(
        '--show-dir', help='directory (under the work dir) where painted '
        'images are saved')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--tta', action='store_true', help='test time aug')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args, checkpoint=args.checkpoint)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args.show, args.show_dir, args.wait_time)
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise RuntimeError('--tta needs "tta_model" and "tta_pipeline" '
                               'in the config')
        cfg.model = dict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline

    cpu_dist = init_cpu_distributed(cfg)
    runner = build_runner(cfg)
    run_test(runner, cfg, args.out, not args.no_per_image)
    if cpu_dist:
        destroy_cpu_distributed()


if __name__ == '__main__':
    main()
