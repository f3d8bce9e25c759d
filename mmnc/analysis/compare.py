"""Read OpenMMLab work dirs and compare baseline / +SE / +NC / +Convs runs.

The library of ``tools/analysis/compare.py``: a :class:`Run` per work dir
(:func:`read_run`), grouped by task and variant (:func:`group`), summed up
as one row per task, variant and metric (:func:`summarize`), with 95%
intervals and verdicts from the runs' per-image results
(:func:`differences`, :mod:`.paired_stats`), and printed as Markdown tables
like the C3Net paper's Table 3 (:func:`markdown`).
"""
import glob
import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

from mmengine.config import Config, ConfigDict

from . import paired_stats
from .complexity import complexity

VARIANTS = ('baseline', '+SE', '+NC', '+Convs')  # +Convs: shown when run
BLOCKS = {'NCBlock': '+NC', 'SEBlock': '+SE', 'ConvsBlock': '+Convs'}
METRICS = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'pascal_voc/mAP', 'mIoU',
           'mAcc', 'accuracy/top1', 'accuracy/top5')
PERCENT = ('coco/', 'pascal_voc/')  # mmdet logs these in [0, 1]
BOOKKEEPING = {'time', 'data_time', 'step', 'epoch', 'iter', 'lr', 'memory'}
DASH = '—'
Task = Tuple[str, str, str]  # config name without -se/-nc, scope, dataset


@dataclass
class Run:
    """One work dir: its metrics, config, and what is wrong with it; the
    per-image results of its test and its seed, if known."""

    work_dir: Path
    metrics: Dict[str, float] = field(default_factory=dict)
    problem: str = ''
    cfg: Config | None = None
    name: str = ''
    per_image: Path | None = None
    seed: int | None = None


def log_dirs(work_dir: Path) -> List[Path]:
    """The ``<timestamp>`` folders mmengine made in a work dir, newest
    first."""
    if not work_dir.is_dir():
        return []
    return sorted((d for d in work_dir.iterdir()
                   if d.is_dir() and d.name[:8].isdigit()), reverse=True)


def expand(patterns: Sequence[str]) -> Tuple[List[Path], List[str]]:
    """Work dirs from paths or globs, and the patterns that matched nothing.

    A work dir (a folder with mmengine's ``<timestamp>`` runs, or a config
    dump) is taken as it is; any other folder is searched recursively for
    work dirs (``work_dirs/demo/det`` gives every ``<config>/seed*`` below
    it). A folder with none below it is kept, so that :func:`read_run`
    reports it.
    """
    dirs, unmatched = [], []
    for pattern in patterns:
        found = [p for p in map(Path, sorted(glob.glob(pattern)))
                 if p.is_dir()]
        if not found:
            unmatched.append(f'missing: {pattern} (no such work dir)')
        for d in found:
            is_work_dir = log_dirs(d) or any(d.glob('*.py'))
            subs = [] if is_work_dir else [
                s for s in sorted(d.rglob('*')) if log_dirs(s)]
            dirs += subs or [d]
    return list(dict.fromkeys(d.resolve() for d in dirs)), unmatched


def numbers(record: Dict[str, Any]) -> Dict[str, float]:
    """The metric values of one logged record."""
    return {k: float(v) for k, v in record.items() if k not in BOOKKEEPING
            and isinstance(v, (int, float)) and not isinstance(v, bool)}


def read_run(work_dir: Path) -> Run:
    """Read a work dir.

    Args:
        work_dir: A ``--work-dir`` of tools/train.py or tools/test.py.

    Returns:
        Run: The newest test metrics, else the last val metrics of a
        training run; the config; and, unless tested, what went wrong.
    """
    run, logs = Run(work_dir), log_dirs(work_dir)
    used = next((d for d in logs if (d / f'{d.name}.json').is_file()), None)
    if used:
        run.metrics = numbers(json.loads(
            (used / f'{used.name}.json').read_text()))
        if (used / 'per_image.npz').is_file():
            run.per_image = used / 'per_image.npz'
    else:
        scalars = {d: d / 'vis_data' / 'scalars.json' for d in logs}
        lines = {d: [json.loads(s) for s in p.read_text().splitlines()
                     if s.strip()] if p.is_file() else []
                 for d, p in scalars.items()}
        vals = [(d, x) for d in logs for x in lines[d][::-1] if 'lr' not in x
                and not any('loss' in k for k in x) and numbers(x)]
        used, record = vals[0] if vals else (None, {})
        run.metrics, problems = numbers(record), []
        if used:
            problems.append(f'no test metrics; used the last val of '
                            f'{used.name}')
        elif any(lines.values()):
            problems.append('trained, but never tested or validated')
        elif not logs:
            problems.append('no mmengine run in it or below it (looked '
                            'for <timestamp>/ folders, as tools/train.py and '
                            'tools/test.py make)')
        if logs and not scalars[logs[0]].is_file():  # not a training run
            problems.append(f'run {logs[0].name} ended without metrics; '
                            'crashed? see its .log')
        run.problem = '; '.join(problems)
    dumps = [d / 'vis_data' / 'config.py' for d in [used, *logs] if d]
    named = sorted(work_dir.glob('*.py'), key=lambda p: -p.stat().st_mtime)
    paths = [p for p in dumps if p.is_file()] + named
    seeds = (Config.fromfile(str(p)).get('randomness', {}).get('seed')
             for p in dumps if p.is_file())
    run.seed = next((s for s in seeds if s is not None), None)
    if paths:
        run.cfg = Config.fromfile(str(paths[0]))
        text = paths[0].read_text()
        run.name = next((p.stem for p in named if p.read_text() == text),
                        named[0].stem if named else work_dir.name)
    elif not run.problem:
        run.problem = 'no config dump in it'
    return run


def variant_of(cfg: Config) -> str:
    """'+NC' if the model holds an NCBlock, else '+SE' for an SEBlock, else
    '+Convs' for a ConvsBlock, else 'baseline'."""
    types, todo = set(), [cfg.get('model', {})]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            t = node.get('type', '')
            types.add(getattr(t, '__name__', str(t)).split('.')[-1])
            todo += node.values()
        elif isinstance(node, (list, tuple)):
            todo += node
    return next((v for b, v in BLOCKS.items() if b in types), 'baseline')


def task_of(run: Run) -> Task:
    """Config name without ``-nc``/``-se``/``-convs``, default scope,
    dataset type."""
    loader = run.cfg.get('test_dataloader') or run.cfg.get('val_dataloader')
    ds = (loader or {}).get('dataset', {})
    while 'dataset' in ds or 'datasets' in ds:  # dataset wrappers
        ds = ds['dataset'] if 'dataset' in ds else ds['datasets'][0]
    return (re.sub(r'-(nc|se|convs)(?=[-_.]|$)', '', run.name),
            str(run.cfg.get('default_scope', '?')), str(ds.get('type', '?')))


def strip_init(node: Any) -> Any:
    """A model config without ``init_cfg``/``pretrained`` (no downloads)."""
    if isinstance(node, dict):
        return {k: strip_init(v) for k, v in node.items()
                if k not in ('init_cfg', 'pretrained')}
    if isinstance(node, (list, tuple)):
        return type(node)(map(strip_init, node))
    return node


def count_params(cfg: Config) -> Tuple[int, None]:
    """#params of ``cfg.model`` (built without weights); no FLOPs."""
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model = MODELS.build(ConfigDict(strip_init(cfg.model)))
    return sum(p.numel() for p in model.parameters()), None


def group(runs: Sequence[Run]) -> Dict[Task, Dict[str, List[Run]]]:
    """Runs with a config by task, then variant (baseline, +SE, +NC, and
    +Convs if run)."""
    groups: Dict[Task, Dict[str, List[Run]]] = {}
    for run in sorted(runs, key=lambda r: str(r.work_dir)):
        if run.cfg is not None:
            groups.setdefault(task_of(run), {v: [] for v in VARIANTS[:3]})\
                .setdefault(variant_of(run.cfg), []).append(run)
    return {t: {v: g[v] for v in VARIANTS if v in g}
            for t, g in sorted(groups.items())}


def fmt(x: float | None, sign: str = '') -> str:
    """A value with 2 decimals, or a dash for none."""
    return DASH if x is None else f'{x:{sign}.2f}'


def summarize(
    groups: Dict[Task, Dict[str, List[Run]]],
    keys: List[str] | None = None,
    size: Callable[[Config], Tuple[int, float | None]] = count_params,
) -> Tuple[List[dict], List[str]]:
    """Mean, std, n and deltas of each metric of each variant.

    Args:
        groups: Runs by task and variant, as :func:`group` returns them.
        keys: Metric keys to report; default: those of :data:`METRICS` the
            task's runs have.
        size: ``(#params, FLOPs or None)`` of a config, for each variant.

    Returns:
        tuple[list[dict], list[str]]: One row per task, variant and metric
        (the CSV rows; no value: None), and notes on runs without a metric.
    """
    rows, notes = [], []
    for task, variants in groups.items():
        seen = [k for r in sum(variants.values(), []) for k in r.metrics]
        shown = keys or [k for k in METRICS if k in seen] or seen[:1] or [
            'metric']
        sizes = {v: size(runs[0].cfg) if runs else (None, None)
                 for v, runs in variants.items()}
        means: Dict[Tuple[str, str], float] = {}
        for key in shown:
            scale = 100 if key.startswith(PERCENT) else 1
            for v in variants:
                got = [r for r in variants[v] if key in r.metrics]
                notes += [f'missing: {r.work_dir} (no {key} in its metrics)'
                          for r in variants[v] if r.metrics and r not in got]
                vals = [r.metrics[key] * scale for r in got]
                if vals:
                    means[v, key] = statistics.mean(vals)
                mean, base, se = (means.get((x, key))
                                  for x in (v, 'baseline', '+SE'))
                rows.append(dict(
                    task=task[0], scope=task[1], dataset=task[2], variant=v,
                    metric=key + (' (%)' if scale > 1 else ''), n=len(vals),
                    mean=mean,
                    std=statistics.stdev(vals) if len(vals) > 1 else None,
                    delta_baseline=None if v == 'baseline' or None in (
                        mean, base) else mean - base,
                    delta_se=None if v != '+NC' or None in (mean, se)
                    else mean - se,
                    params=sizes[v][0], flops=sizes[v][1],
                    ci_low=None, ci_high=None,
                    work_dirs=';'.join(str(r.work_dir) for r in got)))
    return rows, list(dict.fromkeys(notes))


def by_seed(runs: List[Run]) -> Dict[object, paired_stats.PerImage]:
    """The runs' per-image results by seed; a run of unknown or repeated
    seed under its work dir (paired with no other)."""
    out: Dict[object, paired_stats.PerImage] = {}
    for r in runs:
        key = r.seed if r.seed is not None and r.seed not in out else str(
            r.work_dir)
        out[key] = paired_stats.load(r.per_image)
    return out


def same_task(row: dict, task: Task) -> bool:
    return (row['task'], row['scope'], row['dataset']) == task


def differences(groups: Dict[Task, Dict[str, List[Run]]], rows: List[dict],
                n_boot: int = paired_stats.N_BOOT
                ) -> Tuple[List[dict], List[str]]:
    """95% intervals from the runs' per-image results (:mod:`.paired_stats`).

    Sets ``ci_low``/``ci_high`` of the ``rows`` (a variant's mean), and
    compares the variants as :data:`.paired_stats.COMPARISONS`, for each
    metric all of whose runs have per-image results that give it.

    Returns:
        tuple[list[dict], list[str]]: One row per task, metric and
        comparison (with its ``verdict`` in words), and notes on what had
        no interval and why.
    """
    diffs, notes = [], []
    for task, variants in groups.items():
        mine = [r for r in rows if same_task(r, task)]
        for metric in dict.fromkeys(r['metric'] for r in mine):
            key = metric.removesuffix(' (%)')
            runs = {v: [r for r in rs if key in r.metrics]
                    for v, rs in variants.items()}
            lacking = [str(r.work_dir) for rs in runs.values() for r in rs
                       if r.per_image is None]
            if lacking:
                notes.append(f'no interval for {metric} of {task[0]}: no '
                             f'per-image results (per_image.npz of '
                             f'tools/test.py) in {", ".join(lacking)}')
                continue
            try:
                values, images = paired_stats.bootstrap_values(
                    {v: by_seed(rs) for v, rs in runs.items() if rs}, key,
                    n_boot)
            except KeyError as e:
                notes.append(f'no interval for {metric} of {task[0]}: '
                             f'{e.args[0]}')
                continue
            for row in mine:
                if row['metric'] == metric and row['variant'] in values:
                    iv = paired_stats.mean_interval(values[row['variant']],
                                                    images)
                    row['ci_low'], row['ci_high'] = iv.low, iv.high
            for b, a in paired_stats.COMPARISONS:
                if a in values and b in values:
                    d = paired_stats.difference(values[b], values[a], images)
                    diffs.append(dict(
                        task=task[0], scope=task[1], dataset=task[2],
                        metric=metric, comparison=f'{b} vs {a}',
                        mean=d.mean, low=d.low, high=d.high,
                        resolved=d.resolved, seeds=d.seeds, images=images,
                        se_images=d.se_images, se_seeds=d.se_seeds,
                        verdict=paired_stats.verdict(f'{b} vs {a}', d)))
    return diffs, notes


def markdown(rows: List[dict], flops: bool,
             diffs: Sequence[dict] = ()) -> str:
    """One table per task: a row per variant, 3 columns per metric (4 with
    intervals), then the verdicts (without intervals: the seed spread)."""
    out = []
    for task in dict.fromkeys((r['task'], r['scope'], r['dataset'])
                              for r in rows):
        mine = [r for r in rows if same_task(r, task)]
        metrics = list(dict.fromkeys(r['metric'] for r in mine))
        ci = {m for m in metrics if any(r['metric'] == m and r['ci_low']
                                        is not None for r in mine)}
        head = ['variant', 'n'] + sum(
            ([m, 'Δ base', 'Δ SE'] + ['95% CI'] * (m in ci)
             for m in metrics), []) + ['#params'] + (
                ['FLOPs'] if flops else [])
        out += [f'### {task[0]} ({task[1]}, {task[2]})', '',
                '| ' + ' | '.join(head) + ' |',
                '| --- |' + ' ---: |' * (len(head) - 1)]
        for v in dict.fromkeys(r['variant'] for r in mine):
            cells = [r for r in mine if r['variant'] == v]
            row = [v, str(max(r['n'] for r in cells))]
            for r in cells:
                value = fmt(r['mean']) + ('' if r['std'] is None else
                                          f' ± {r["std"]:.2f}')
                row += [value] + [  # blank: no such comparison
                    fmt(r[k], '+') if on else '' for k, on in
                    (('delta_baseline', v != 'baseline'),
                     ('delta_se', v == '+NC'))]
                if r['metric'] in ci:
                    row.append(DASH if r['ci_low'] is None else
                               f'[{r["ci_low"]:.2f}, {r["ci_high"]:.2f}]')
            p, f = cells[0]['params'], cells[0]['flops']
            row.append(DASH if p is None else f'{p / 1e6:.3f}M')
            if flops:
                row.append(DASH if f is None else f'{f / 1e9:.2f}G'
                           if f >= 1e9 else f'{f / 1e6:.1f}M')
            out.append('| ' + ' | '.join(row) + ' |')
        said = [f'{d["metric"]}: {d["verdict"]}' for d in diffs
                if same_task(d, task)]
        out += ['', *(said or [spread(mine, metrics[0])]), '']
    return '\n'.join(out)


def count_flops(cfg: Config, shape: List[int] | None) -> Tuple[int, float]:
    """#params and FLOPs, as ``tools/analysis/complexity.py`` counts them."""
    cfg.model = strip_init(cfg.model)
    r = complexity(cfg, shape and (shape * 2)[:2])
    return r['params'], r['flops']


def plot(rows: List[dict], path: Path, diffs: Sequence[dict] = ()) -> None:
    """Per task, its first metric: each variant's mean with its 95%
    interval (else ± std), and beside it the differences with theirs."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    tasks = list(dict.fromkeys((r['task'], r['scope'], r['dataset'])
                               for r in rows))
    fig, axes = plt.subplots(len(tasks), 2, figsize=(9, 3.2 * len(tasks)),
                             squeeze=False)
    colors = {'baseline': '0.6', '+SE': 'tab:orange', '+NC': 'tab:blue',
              '+Convs': 'tab:green'}
    for (ax, dax), task in zip(axes, tasks):
        mine = [r for r in rows if same_task(r, task)]
        bars = [r for r in mine if r['metric'] == mine[0]['metric']]
        means = [math.nan if r['mean'] is None else r['mean'] for r in bars]
        ci = [r['ci_low'] is not None for r in bars]
        err = [[m - r['ci_low'] if c else r['std'] or 0 for m, r, c in
                zip(means, bars, ci)],
               [r['ci_high'] - m if c else r['std'] or 0 for m, r, c in
                zip(means, bars, ci)]]
        names = [r['variant'] for r in bars]
        drawn = ax.bar(names, means, yerr=err, capsize=4,
                       color=[colors[v] for v in names])
        ax.bar_label(drawn, labels=[fmt(r['mean']) for r in bars])
        for i in (i for i, r in enumerate(bars) if r['mean'] is None):
            ax.text(i, 0, 'no run', ha='center', va='bottom')
        ax.margins(y=0.12)
        ax.set_title(f'{task[0]}: mean and '
                     f'{"95% interval" if any(ci) else "std"}', fontsize=8)
        ax.set_ylabel(mine[0]['metric'])
        said = [d for d in diffs if same_task(d, task)
                and d['metric'] == mine[0]['metric']]
        if not said:
            dax.set_visible(False)
            continue
        for y, d in enumerate(said):  # resolved: blue, else grey
            dax.errorbar(d['mean'], y, fmt='o', capsize=4, xerr=[
                [d['mean'] - d['low']], [d['high'] - d['mean']]],
                color='tab:blue' if d['resolved'] else '0.5')
        dax.axvline(0, color='0.5', lw=0.8)
        dax.set_yticks(range(len(said)), [d['comparison'] for d in said])
        dax.invert_yaxis()
        dax.set_title('differences, 95% interval (paired bootstrap; '
                      'grey: not resolved)', fontsize=8)
        dax.set_xlabel(mine[0]['metric'])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def spread(rows: List[dict], metric: str) -> str:
    """Whether each difference of ``metric`` between two variants is larger
    than the seed-to-seed spread (the larger of the two sample stds)."""
    by = {r['variant']: r for r in rows if r['metric'] == metric}
    parts = []
    for a, b in (('+SE', 'baseline'), ('+NC', 'baseline'), ('+NC', '+SE')):
        ra, rb = by.get(a), by.get(b)
        if ra is None or rb is None or None in (ra['mean'], rb['mean']):
            continue
        delta = ra['mean'] - rb['mean']
        if ra['std'] is None or rb['std'] is None:
            verdict = 'one seed: spread unknown'
        else:
            width = max(ra['std'], rb['std'])
            verdict = (f'{"larger" if abs(delta) > width else "not larger"}'
                       f' than the seed spread ({width:.2f})')
        parts.append(f'{a} vs {b} {delta:+.2f}, {verdict}')
    return f'{metric}: ' + '; '.join(parts) + '.' if parts else ''
