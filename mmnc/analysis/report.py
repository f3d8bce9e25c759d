"""Write a comparison: Markdown tables like the C3Net paper's Table 3
(:func:`markdown`) and the chart of means and differences (:func:`plot`),
from the rows of :func:`mmnc.analysis.compare.summarize` and
:func:`mmnc.analysis.compare.differences`.
"""
import math
from pathlib import Path
from typing import List, Sequence

from .runs import Task

DASH = '—'


def fmt(x: float | None, sign: str = '') -> str:
    """A value with 2 decimals, or a dash for none."""
    return DASH if x is None else f'{x:{sign}.2f}'


def same_task(row: dict, task: Task) -> bool:
    return (row['task'], row['scope'], row['dataset']) == task


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
