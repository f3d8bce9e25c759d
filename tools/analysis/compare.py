"""Baseline vs +SE vs +NC (vs +Convs) from real runs, as the C3Net Table 3.

Reads each work dir: the test metrics of ``tools/test.py CONFIG CKPT
--work-dir W`` (``W/<ts>/<ts>.json``; else, flagged, the last validation in
``W/<ts>/vis_data/scalars.json``) and the config dump (``vis_data/config.py``,
named by ``W/<config-name>.py``). Groups runs by task (config name without
``-se``/``-nc``/``-convs``, default scope, test dataset) and variant (an
``NCBlock`` in the model: +NC, an ``SEBlock``: +SE, a ``ConvsBlock``:
+Convs, else baseline); seeds of a variant give mean ± std (sample) over n.
Where every run has per-image results (``W/<ts>/per_image.npz``, written by
tools/test.py), each variant gets a 95% interval and each comparison (each
variant vs baseline, +NC vs +SE, +NC vs +Convs) a difference with a 95%
interval and a verdict, from a paired bootstrap over test images and seeds
(:mod:`mmnc.analysis.paired_stats`; README, "Compare your own runs").
mmdet's ``coco/*`` and ``pascal_voc/*`` metrics (logged in [0, 1]) are shown
in %. #params come from the model built from
the config; FLOPs, with ``--flops``, from tools/analysis/complexity.py.

    python tools/analysis/compare.py work_dirs/resnet20*_digits*
    python tools/analysis/compare.py 'work_dirs/*coco*' --flops --shape 800

Prints a Markdown table per task, its verdicts, and the runs without test
metrics (a missing variant is a row of dashes); writes ``compare.csv`` (one
row per task, variant and metric), ``differences.csv`` (one row per task,
metric and comparison) and ``compare.png`` to ``--out-dir``.
"""
import argparse
import csv
from pathlib import Path
from typing import List

import mmnc  # noqa: F401  (registers mmnc's modules)
from mmnc.analysis import compare as lib


def parse_args(argv: List[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Compare baseline / +SE / +NC runs (Markdown, CSV, PNG)')
    parser.add_argument('work_dirs', nargs='+',
                        help='work dirs, globs or folders of work dirs')
    parser.add_argument('--out-dir', default='work_dirs/compare',
                        help='where compare.csv and compare.png go')
    parser.add_argument('--metric', action='append',
                        help=f'a metric key to show (repeatable; default: '
                        f'those of {", ".join(lib.METRICS)} present)')
    parser.add_argument('--flops', action='store_true',
                        help='also count FLOPs (slow for detectors on CPU)')
    parser.add_argument('--bootstrap', type=int,
                        default=lib.paired_stats.N_BOOT,
                        help='bootstrap replicates of the intervals')
    parser.add_argument('--shape', type=int, nargs='+',
                        help='FLOPs input H W (or one side); default: from '
                        'the config, as tools/analysis/complexity.py does')
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        parser.error('--shape takes H W or a single side')
    return args


def main(argv: List[str] | None = None) -> None:
    args = parse_args(argv)
    dirs, notes = lib.expand(args.work_dirs)
    runs = [lib.read_run(d) for d in dirs]
    notes += [f'{"val only" if r.metrics and r.cfg else "missing"}: '
              f'{r.work_dir} ({r.problem})' for r in runs if r.problem]
    size = ((lambda cfg: lib.count_flops(cfg, args.shape)) if args.flops else
            lib.count_params)
    groups = lib.group(runs)
    rows, lacking = lib.summarize(groups, args.metric, size)
    diffs, no_ci = lib.differences(groups, rows, args.bootstrap)
    print(lib.markdown(rows, args.flops, diffs))
    if notes + lacking + no_ci:
        print('\n'.join(notes + lacking + no_ci) + '\n')
    if not rows:
        raise SystemExit('no run with a config to compare')
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in (('compare.csv', rows), ('differences.csv', diffs)):
        with open(out / name, 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(
                (table or [dict(task=None)])[0]))
            writer.writeheader()
            writer.writerows(table)
    lib.plot(rows, out / 'compare.png', diffs)
    print(f'Wrote {out / "compare.csv"}, {out / "differences.csv"} and '
          f'{out / "compare.png"}')


if __name__ == '__main__':
    main()
