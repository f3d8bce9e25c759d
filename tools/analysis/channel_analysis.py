"""What the trained NC / SE blocks do to channels: redundancy, communication.

Runs the test split (or its first ``--max-images``) through each trained run
once, one image at a time, with forward hooks on every NC / SE / Convs block
and on every module that holds one (a *place*; the same module in the
baseline), and measures per image (:mod:`mmnc.analysis.channels`):

* redundancy of the channel responses: mean |correlation| of channel pairs
  (``corr``) and the effective rank of the channel x position matrix
  (``erank``), on a block's input (``_before``) and output (``_after``) and
  at the places;
* how much a block changes its input (``residual``: ``||out - in|| /
  ||in||``, 0 = the identity), and for NC its affinity's entropy over log
  of the group size (``entropy``: 0 = no communication, 1 = uniform) and
  the keys' spread (``key_spread``).

Each with a 95% interval from a paired bootstrap over the test images (and
the seeds, where a variant has several), and per task the differences +SE
vs baseline, +NC vs baseline and +NC vs +SE at the places with verdicts in
``tools/analysis/compare.py``'s words (:mod:`mmnc.analysis.paired_stats`).

    python tools/analysis/channel_analysis.py work_dirs/demo --max-images 64

Run folders are found recursively (a folder holding mmengine's
``<timestamp>`` runs, a config dump and a checkpoint). Each run's weights
are its ``last_checkpoint``, its config the dump ``compare.py`` reads.
Writes to ``--out-dir``: ``<run>.csv`` per run (one row per module and
statistic), ``differences.csv`` (one row per task, place, statistic and
comparison), and per task ``<task>_redundancy.png``, and with an NC run
``<task>_affinity.png`` and ``<task>_key_spread.png``; prints a short table
per task. Every file is written under a temporary name, then renamed, and
only after every run was read.
"""
import argparse
import csv
import math
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner, load_checkpoint

import mmnc  # noqa: F401  (registers mmnc's modules)
from mmnc.analysis import channels as ch
from mmnc.analysis import compare
from mmnc.analysis import paired_stats as ps


class AnalysisError(Exception):
    """Bad input: the message names the file and what to do."""


def find_run_dirs(paths: Sequence[str]) -> List[Path]:
    """Run folders at or below each of ``paths``: folders with mmengine's
    ``<timestamp>`` runs, found as compare.py finds them
    (:func:`mmnc.analysis.compare.expand`).

    Raises:
        AnalysisError: A path does not exist or holds no run.
    """
    found: List[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            raise AnalysisError(f'{p}: no such folder')
        mine = [d for d in compare.expand([str(p)])[0] if compare.log_dirs(d)]
        if not mine:
            raise AnalysisError(f'{p}: no run folder in it (a work dir of '
                                f'tools/train.py or tools/test.py)')
        found += mine
    return list(dict.fromkeys(d.resolve() for d in found))


def checkpoint_of(work_dir: Path) -> Path:
    """The run's ``last_checkpoint``, else its newest ``*.pth``.

    Raises:
        AnalysisError: None exists.
    """
    last = work_dir / 'last_checkpoint'
    if last.is_file():
        path = Path(last.read_text().strip())
        path = path if path.is_absolute() else work_dir / path.name
        if path.is_file():
            return path
        raise AnalysisError(f'{last} names {path}, which does not exist')
    pths = sorted(work_dir.glob('*.pth'), key=lambda p: p.stat().st_mtime)
    if not pths:
        raise AnalysisError(f'{work_dir}: no checkpoint (last_checkpoint or '
                            f'*.pth) in it')
    return pths[-1]


def config_file(run: compare.Run) -> str:
    return getattr(run.cfg, 'filename', None) or str(run.work_dir)


def build(run: compare.Run, max_images: int | None):
    """The run's model with its checkpoint, and its test dataloader (batch
    size 1, the first ``max_images`` images).

    Raises:
        AnalysisError: No config, a checkpoint that does not fit the
            config's model, no test split, or an empty one.
    """
    if run.cfg is None:
        raise AnalysisError(f'{run.work_dir}: {run.problem or "no config"}')
    cfg, where = run.cfg, config_file(run)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model = MODELS.build(ConfigDict(compare.strip_init(cfg.model)))
    ckpt = checkpoint_of(run.work_dir)
    try:
        load_checkpoint(model, str(ckpt), map_location='cpu', strict=True,
                        logger='silent')
    except (RuntimeError, KeyError) as e:
        first = str(e).strip().splitlines()[:3]
        raise AnalysisError(f'{ckpt} does not match the model of its config '
                            f'{where}: {" ".join(first)}') from None
    model.eval()
    loader_cfg = cfg.get('test_dataloader')
    if not loader_cfg:
        raise AnalysisError(f'{where}: no test_dataloader')
    loader_cfg = dict(loader_cfg, batch_size=1, num_workers=0,
                      persistent_workers=False)
    try:
        loader = Runner.build_dataloader(loader_cfg, seed=0)
    except (OSError, RuntimeError) as e:  # mmpretrain: an empty folder
        raise AnalysisError(f'the test split of {where} cannot be read: '
                            f'{e}') from None
    if len(loader.dataset) == 0:
        raise AnalysisError(f'the test split of {where} is empty')
    n = len(loader.dataset) if max_images is None else min(
        max_images, len(loader.dataset))
    return model, loader, n


def record(name: str, model, loader, n: int, places: Sequence[str],
           heat_images: int) -> ch.ChannelRecorder:
    """Run ``n`` test images through ``model`` one at a time, printing the
    progress, with a :class:`~mmnc.analysis.channels.ChannelRecorder`."""
    rec = ch.ChannelRecorder(model, places, heat_images)
    t0, every = time.monotonic(), max(1, n // 4)
    with rec, torch.no_grad():
        for i, batch in enumerate(loader):
            if i == n:
                break
            model.test_step(batch)
            rec.image_done(i)
            if (i + 1) % every == 0 or i + 1 == n:
                print(f'[channels] {name}: image {i + 1}/{n} '
                      f'({time.monotonic() - t0:.0f} s)', flush=True)
    return rec


def write_atomic(path: Path, write) -> None:
    """``write(tmp_path)``, then rename it to ``path``."""
    tmp = path.with_name(f'.{path.name}.tmp')
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_csv(path: Path, rows: List[dict], head: Sequence[str] = ()
              ) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows
                               else list(head))
            w.writeheader()
            w.writerows(rows)
    write_atomic(path, write)


def save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=100, format='png'))
    plt.close(fig)


COLORS = {'baseline': '0.6', '+SE': 'tab:orange', '+NC': 'tab:blue',
          '+Convs': 'tab:green'}


def plot_redundancy(task: str, means: Dict[Tuple[str, str], ps.Interval],
                    variants: Sequence[str], path: Path) -> None:
    """Per statistic (corr, erank): per variant, the mean over its blocks'
    inputs and outputs and over the places, with 95% intervals."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    bars = (('block input', ch.ALL_BLOCKS, '_before', '//'),
            ('block output', ch.ALL_BLOCKS, '_after', ''),
            ('place (module holding the block)', ch.ALL_PLACES, '', '..'))
    for ax, stat in zip(axes, ch.PLACE_STATS):
        for k, (_, where, suffix, hatch) in enumerate(bars):
            xs, ys, err, cs = [], [], [[], []], []
            for i, v in enumerate(variants):
                iv = means.get((v, f'{where}:{stat}{suffix}'))
                if iv is None or math.isnan(iv.mean):
                    continue
                xs.append(i + (k - 1) * 0.27)
                ys.append(iv.mean)
                err[0].append(iv.mean - iv.low)
                err[1].append(iv.high - iv.mean)
                cs.append(COLORS.get(v, '0.3'))
            ax.bar(xs, ys, 0.25, yerr=err, capsize=3, color=cs, hatch=hatch,
                   edgecolor='k', linewidth=0.5)
        ax.set_xticks(range(len(variants)), variants)
        ax.set_ylabel(ch.DESCRIPTION[stat])
        ax.set_title(f'{ch.DESCRIPTION[stat]}\n(mean over blocks / places, '
                     f'95% interval)', fontsize=8)
    from matplotlib.patches import Patch
    axes[0].legend(handles=[Patch(facecolor='white', edgecolor='k',
                                  hatch=h, label=b) for b, _, _, h in bars],
                   fontsize=7)  # colour: the variant, hatch: where
    fig.suptitle(f'{task}: redundancy of channel responses', fontsize=9)
    save(fig, path)


def plot_affinity(task: str, block: str, keys: List[np.ndarray],
                  path: Path) -> None:
    """The affinity of the first sample and group of a few images, channels
    sorted by key."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 3.4),
                             squeeze=False)
    for i, (ax, k) in enumerate(zip(axes[0], keys)):
        k = np.sort(k)
        a = ch.affinity(torch.from_numpy(k)[None])[0].numpy()
        im = ax.imshow(a, cmap='viridis', interpolation='nearest')
        ax.set_xlabel('channel i, sorted by key (sender)')
        ax.set_ylabel('channel j, sorted by key (receiver)')
        ax.set_title(f'image {i}: key spread {k.std():.2f}', fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046, label='affinity a_ji')
    fig.suptitle(f'{task}: NC affinity of {block} (first sample, group 0)',
                 fontsize=9)
    save(fig, path)


def plot_key_spread(task: str, spreads: Dict[str, List[float]],
                    path: Path) -> None:
    """Per NC block, the histogram of the key spread over samples, groups
    and images."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, s in spreads.items():
        ax.hist(s, bins=30, histtype='step', label=name)
    ax.axvline(1, color='0.5', lw=0.8, ls='--')
    ax.set_xlabel('key spread: std of the channel keys of a group '
                  '(dashed: 1, weight 1/e)')
    ax.set_ylabel('samples x groups')
    ax.set_title(f'{task}: spread of NC keys', fontsize=9)
    ax.legend(fontsize=6)
    save(fig, path)


def table(task: str, means: Dict[Tuple[str, str], ps.Interval],
          variants: Sequence[str], diffs: List[dict]) -> str:
    """The short Markdown table of a task: per statistic, each variant's
    mean [95% interval], then the verdicts on the mean over places."""
    keys = [f'{ch.ALL_PLACES}:corr', f'{ch.ALL_PLACES}:erank',
            f'{ch.ALL_BLOCKS}:residual', f'{ch.ALL_BLOCKS}:entropy',
            f'{ch.ALL_BLOCKS}:key_spread']
    out = [f'### channels: {task}', '',
           '| statistic | ' + ' | '.join(variants) + ' |',
           '| --- |' + ' ---: |' * len(variants)]
    for key in keys:
        where, stat = key.split(':')
        cells = [means[v, key].text('') if (v, key) in means
                 and not math.isnan(means[v, key].mean) else compare.DASH
                 for v in variants]
        if set(cells) != {compare.DASH}:
            label = ch.DESCRIPTION[stat].replace('|', '\\|')
            out.append(f'| {label} ({where}) | '
                       + ' | '.join(cells) + ' |')
    said = [f'{ch.DESCRIPTION[d["stat"]]} ({d["module"]}): {d["verdict"]}'
            for d in diffs if d['kind'] == 'mean']
    return '\n'.join(out + [''] + said + [''])


def run_label(work_dir: Path, root: Path) -> str:
    """A file name for a run: its path below the runs' common folder."""
    rel = work_dir.relative_to(root) if work_dir != root else Path(
        work_dir.name)
    return '__'.join(rel.parts) or work_dir.name


def parse_args(argv: List[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='Statistics: docs/user_guides/channel_analysis.md')
    parser.add_argument('runs', nargs='+', help='run folders, or folders '
                        'holding them (searched recursively)')
    parser.add_argument('--out-dir', default='work_dirs/channels',
                        help='where the CSVs and PNGs go (default: '
                        '%(default)s)')
    parser.add_argument('--max-images', type=int, default=None,
                        help='the first N test images of each run (default: '
                        'all)')
    parser.add_argument('--bootstrap', type=int, default=ps.N_BOOT,
                        help='bootstrap replicates (default: %(default)s)')
    parser.add_argument('--heat-images', type=int, default=3,
                        help='images in the affinity heat map (default: '
                        '%(default)s)')
    args = parser.parse_args(argv)
    if args.max_images is not None and args.max_images < 1:
        parser.error('--max-images must be >= 1')
    if args.heat_images < 1:
        parser.error('--heat-images must be >= 1')
    return args


def task_places(task: str, models: Sequence) -> Tuple[List[str], str]:
    """The places of a task's models: the modules that hold a block in any
    of them; with none, the stage outputs (and a note saying so)."""
    places = list(dict.fromkeys(
        ch.parent(b) for m in models for b in ch.find_blocks(m)))
    if places:
        return places, ''
    return list(dict.fromkeys(p for m in models for p in ch.stage_places(
        m))), (f'note: {task}: no NC / SE / Convs block in any run; '
               f'redundancy at the stage outputs only')


def analyse_task(task: str, by_variant: Dict[str, List[compare.Run]],
                 built: dict, root: Path, args: argparse.Namespace):
    """One task's runs through :func:`record`: ``(rows by run, variant
    differences, figures to draw, lines to print)``."""
    places, note = task_places(task, [built[r.work_dir][0] for rs in
                                      by_variant.values() for r in rs])
    lines = [note] if note else []
    values: Dict[str, List[Tuple[object, ps.PerImage]]] = {}
    rows, nc_rec = {}, None
    for v, rs in by_variant.items():
        for r in rs:
            label = run_label(r.work_dir, root)
            rec = record(label, *built[r.work_dir], places, args.heat_images)
            if not rec.blocks:
                lines.append(f'note: {label}: no NC / SE / Convs block; '
                             f'redundancy at the places only')
            pi = rec.per_image()
            values.setdefault(v, []).append((r.seed, pi))
            rows[r.work_dir] = [dict(task=task, variant=v, run=str(
                r.work_dir), **row) for row in ch.summarize_run(
                    pi, args.bootstrap)]
            if nc_rec is None and rec.heat_keys:
                nc_rec = rec
    variants = {v: ch.by_seed(vs) for v, vs in values.items()}
    keys = list(dict.fromkeys(k for g in variants.values()
                              for r in g.values() for k in r.arrays
                              if ch.split_key(k)[0] == 'mean'))
    means = ch.variant_means(variants, keys, args.bootstrap)
    diffs = [dict(task=task, **d)
             for d in ch.compare_variants(variants, args.bootstrap)]
    figures = [(plot_redundancy, (task, means, list(variants)),
                f'{task}_redundancy.png')]
    if nc_rec is not None:
        figures += [(plot_affinity, (task, nc_rec.heat_block,
                                     nc_rec.heat_keys),
                     f'{task}_affinity.png'),
                    (plot_key_spread, (task, nc_rec.spreads),
                     f'{task}_key_spread.png')]
    else:
        lines.append(f'note: {task}: no NC run; no affinity or key-spread '
                     f'figure')
    lines.append(table(task, means, list(variants), diffs))
    return rows, diffs, figures, lines


def analyse(args: argparse.Namespace) -> List[str]:
    """Read every run, then write the files; returns the lines to print.

    Raises:
        AnalysisError: Bad input, before anything is written.
    """
    dirs = find_run_dirs(args.runs)
    runs = [compare.read_run(d) for d in dirs]
    built = {r.work_dir: build(r, args.max_images) for r in runs}
    root = Path(os.path.commonpath([str(d) for d in dirs]))
    if len(dirs) == 1:
        root = dirs[0].parent
    rows, diffs, figures, lines = {}, [], [], []
    for task, by_variant in compare.group(runs).items():
        got = analyse_task(task[0], by_variant, built, root, args)
        rows.update(got[0])
        diffs += got[1]
        figures += got[2]
        lines += got[3]
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for work_dir, run_rows in rows.items():
        write_csv(out / f'{run_label(work_dir, root)}.csv', run_rows)
    write_csv(out / 'differences.csv', diffs, ('task', 'verdict'))
    for fn, fargs, name in figures:
        fn(*fargs, out / name)
    lines.append(f'Wrote {len(rows)} run CSVs, differences.csv and '
                 f'{len(figures)} figures to {out}')
    return lines


def main(argv: List[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        lines = analyse(args)
    except AnalysisError as e:
        sys.exit(f'channel_analysis: error: {e}')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
