"""Baseline vs +SE vs +NC from real runs, as the C3Net paper's Table 3.

Reads what mmengine wrote in each work dir: the test metrics of
``tools/test.py CONFIG CKPT --work-dir W`` (``W/<ts>/<ts>.json``), else,
flagged under the table, the last validation of a training run
(``W/<ts>/vis_data/scalars.json``); and the config dump
(``W/<ts>/vis_data/config.py``, named by ``W/<config-name>.py``). Runs are
grouped by task (default scope, test dataset type, config name without
``-se``/``-nc``) and variant (an ``NCBlock`` in the model makes it +NC, else
an ``SEBlock`` +SE, else baseline); several runs (seeds) of a variant give
mean ± std (sample) over n. mmdet's ``coco/*`` and ``pascal_voc/*`` metrics
(logged in [0, 1]) are shown in %.

    python tools/analysis/compare.py work_dirs/resnet20*_digits*
    python tools/analysis/compare.py 'work_dirs/*coco*' --flops --shape 800

Prints one Markdown table per task, then the runs without test metrics, and
writes ``compare.csv`` and ``compare.png`` (a bar chart) to ``--out-dir``.
"""
import argparse
import csv
import glob
import importlib.util
import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

VARIANTS = ('baseline', '+SE', '+NC')
METRICS = ('coco/bbox_mAP', 'pascal_voc/mAP', 'mIoU', 'mAcc',
           'accuracy/top1', 'accuracy/top5')
PERCENT = ('coco/', 'pascal_voc/')  # mmdet logs these in [0, 1]
BOOKKEEPING = {'time', 'data_time', 'step', 'epoch', 'iter', 'lr', 'memory'}
DASH = '—'
Task = Tuple[str, str, str]  # config name without -se/-nc, scope, dataset


@dataclass
class Run:
    """One work dir: its metrics, where they came from, and its config."""

    work_dir: Path
    metrics: Dict[str, float] = field(default_factory=dict)
    problem: str = ''
    cfg: Optional[Config] = None
    name: str = ''


def log_dirs(work_dir: Path) -> List[Path]:
    """The ``<timestamp>`` folders mmengine made in a work dir, newest
    first."""
    if not work_dir.is_dir():
        return []
    return sorted((d for d in work_dir.iterdir()
                   if d.is_dir() and d.name[:8].isdigit()), reverse=True)


def expand(patterns: Sequence[str]) -> Tuple[List[Path], List[str]]:
    """Work dirs from paths or globs (a folder of work dirs is opened), and
    the patterns that matched nothing."""
    dirs, unmatched = [], []
    for pattern in patterns:
        found = [p for p in map(Path, sorted(glob.glob(pattern)))
                 if p.is_dir()]
        if not found:
            unmatched.append(f'missing: {pattern} (no such work dir)')
        for d in found:
            subs = [s for s in sorted(d.iterdir()) if log_dirs(s)]
            is_work_dir = log_dirs(d) or any(d.glob('*.py'))
            dirs += [d] if is_work_dir or not subs else subs
    return list(dict.fromkeys(d.resolve() for d in dirs)), unmatched


def numbers(record: Dict[str, Any]) -> Dict[str, float]:
    """The metric values of one logged record."""
    return {k: float(v) for k, v in record.items() if k not in BOOKKEEPING
            and isinstance(v, (int, float)) and not isinstance(v, bool)}


def read_run(work_dir: Path) -> Run:
    """Test metrics (else last val metrics) and config of a work dir."""
    run, logs, used = Run(work_dir), log_dirs(work_dir), None
    for d in logs:
        if (d / f'{d.name}.json').is_file():
            run.metrics = numbers(json.loads(
                (d / f'{d.name}.json').read_text()))
            used = d
            break
    tested, trained = used is not None, False
    for d in logs if not tested else []:
        path = d / 'vis_data' / 'scalars.json'
        lines = ([json.loads(s) for s in path.read_text().splitlines()
                  if s.strip()] if path.is_file() else [])
        trained = trained or bool(lines)
        vals = [x for x in lines if 'lr' not in x
                and not any('loss' in k for k in x) and numbers(x)]
        if vals:
            run.metrics, used = numbers(vals[-1]), d
            break
    died = logs and logs[0] != used and not (
        logs[0] / 'vis_data' / 'scalars.json').is_file()
    problems = []
    if not tested:
        if used:
            problems.append(f'no test metrics; used the last val of '
                            f'{used.name}')
        elif trained or not logs:
            problems.append('trained, but never tested or validated'
                            if trained else 'no mmengine run in it')
        if died:
            problems.append(f'run {logs[0].name} ended without metrics; '
                            'crashed? see its .log')
    run.problem = '; '.join(filter(None, problems))
    dumps = [d / 'vis_data' / 'config.py' for d in [used, *logs] if d]
    named = sorted(work_dir.glob('*.py'), key=lambda p: -p.stat().st_mtime)
    paths = [p for p in dumps if p.is_file()] + named
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
    'baseline'."""
    types, todo = set(), [cfg.get('model', {})]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            t = node.get('type', '')
            types.add(getattr(t, '__name__', str(t)).split('.')[-1])
            todo += node.values()
        elif isinstance(node, (list, tuple)):
            todo += node
    return '+NC' if 'NCBlock' in types else '+SE' if 'SEBlock' in types \
        else 'baseline'


def task_of(run: Run) -> Task:
    """Config name without ``-nc``/``-se``, default scope, dataset type."""
    loader = run.cfg.get('test_dataloader') or run.cfg.get('val_dataloader')
    ds = (loader or {}).get('dataset', {})
    while 'dataset' in ds or 'datasets' in ds:  # dataset wrappers
        ds = ds['dataset'] if 'dataset' in ds else ds['datasets'][0]
    return (re.sub(r'-(nc|se)(?=[-_.]|$)', '', run.name),
            str(run.cfg.get('default_scope', '?')), str(ds.get('type', '?')))


def strip_init(node: Any) -> Any:
    """A model config without ``init_cfg``/``pretrained`` (no downloads)."""
    if isinstance(node, dict):
        return {k: strip_init(v) for k, v in node.items()
                if k not in ('init_cfg', 'pretrained')}
    if isinstance(node, (list, tuple)):
        return type(node)(map(strip_init, node))
    return node


def model_size(cfg: Config, flops: bool,
               shape: Optional[List[int]]) -> Tuple[int, Optional[float]]:
    """#params (and FLOPs, by tools/analysis/complexity.py) of a config."""
    cfg.model = strip_init(cfg.model)
    if flops:
        spec = importlib.util.spec_from_file_location(
            'complexity', Path(__file__).with_name('complexity.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        r = module.complexity(cfg, shape and (shape * 2)[:2])
        return r['params'], r['flops']
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    return sum(p.numel() for p in MODELS.build(cfg.model).parameters()), None


def fmt(x: Optional[float], sign: str = '') -> str:
    return DASH if x is None else f'{x:{sign}.2f}'


def summarize(groups: Dict[Task, Dict[str, List[Run]]],
              keys: Optional[List[str]], flops: bool,
              shape: Optional[List[int]]) -> Tuple[List[dict], List[str]]:
    """One CSV row per task, variant and metric; and the notes on runs that
    lack a metric."""
    rows, notes = [], []
    for task, variants in groups.items():
        seen = [k for r in sum(variants.values(), []) for k in r.metrics]
        shown = keys or [k for k in METRICS if k in seen] or seen[:1]
        sizes = {v: model_size(runs[0].cfg, flops, shape) if runs else
                 (None, None) for v, runs in variants.items()}
        means: Dict[Tuple[str, str], float] = {}
        for key in shown:
            scale = 100 if key.startswith(PERCENT) else 1
            for v in VARIANTS:
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
                    work_dirs=';'.join(str(r.work_dir) for r in got)))
    return rows, list(dict.fromkeys(notes))


def markdown(rows: List[dict], flops: bool) -> str:
    """One table per task: a row per variant, 3 columns per metric."""
    out = []
    for task in dict.fromkeys((r['task'], r['scope'], r['dataset'])
                              for r in rows):
        mine = [r for r in rows if (r['task'], r['scope'], r['dataset'])
                == task]
        metrics = list(dict.fromkeys(r['metric'] for r in mine))
        head = ['variant', 'n'] + sum(
            ([m, 'Δ base', 'Δ SE'] for m in metrics), []) + ['#params'] + (
                ['FLOPs'] if flops else [])
        out += [f'### {task[0]} ({task[1]}, {task[2]})', '',
                '| ' + ' | '.join(head) + ' |',
                '| --- |' + ' ---: |' * (len(head) - 1)]
        for v in VARIANTS:
            cells = [r for r in mine if r['variant'] == v]
            row = [v, str(max(r['n'] for r in cells))]
            for r in cells:
                value = fmt(r['mean']) + ('' if r['std'] is None else
                                          f' ± {r["std"]:.2f}')
                row += [value] + [  # blank: no such comparison
                    fmt(r[k], '+') if on else '' for k, on in
                    (('delta_baseline', v != 'baseline'),
                     ('delta_se', v == '+NC'))]
            p, f = cells[0]['params'], cells[0]['flops']
            row.append(DASH if p is None else f'{p / 1e6:.3f}M')
            if flops:
                row.append(DASH if f is None else f'{f / 1e9:.2f}G'
                           if f >= 1e9 else f'{f / 1e6:.1f}M')
            out.append('| ' + ' | '.join(row) + ' |')
        out.append('')
    return '\n'.join(out)


def plot(rows: List[dict], path: Path) -> None:
    """A bar chart of each task's first metric per variant (± std)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    tasks = list(dict.fromkeys(r['task'] for r in rows))
    cols = min(3, len(tasks))
    fig, axes = plt.subplots(math.ceil(len(tasks) / cols), cols,
                             figsize=(4 * cols, 3.5), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        first = next(r['metric'] for r in rows if r['task'] == task)
        bars = [r for r in rows if r['task'] == task and r['metric'] == first]
        heights = [math.nan if r['mean'] is None else r['mean'] for r in bars]
        drawn = ax.bar(VARIANTS, heights, capsize=4,
                       yerr=[r['std'] or 0 for r in bars],
                       color=['0.6', 'tab:orange', 'tab:blue'])
        ax.bar_label(drawn, labels=[fmt(r['mean']) for r in bars])
        ax.set_title(task, fontsize=8)
        ax.set_ylabel(first)
    for ax in list(axes.flat)[len(tasks):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Compare baseline / +SE / +NC runs (Markdown, CSV, PNG)')
    parser.add_argument('work_dirs', nargs='+',
                        help='work dirs, globs or folders of work dirs')
    parser.add_argument('--out-dir', default='work_dirs/compare',
                        help='where compare.csv and compare.png go')
    parser.add_argument('--metric', nargs='+',
                        help=f'metric keys to show (default: those of '
                        f'{", ".join(METRICS)} present)')
    parser.add_argument('--flops', action='store_true',
                        help='also count FLOPs (slow for detectors on CPU)')
    parser.add_argument('--shape', type=int, nargs='+',
                        help='FLOPs input H W (or one side); default: from '
                        'the config, as tools/analysis/complexity.py does')
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        parser.error('--shape takes H W or a single side')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    dirs, notes = expand(args.work_dirs)
    runs = [read_run(d) for d in dirs]
    groups: Dict[Task, Dict[str, List[Run]]] = {}
    for run in sorted(runs, key=lambda r: str(r.work_dir)):
        if run.cfg is not None:
            groups.setdefault(task_of(run), {v: [] for v in VARIANTS})[
                variant_of(run.cfg)].append(run)
        notes += [f'{"val only" if run.metrics else "missing"}: '
                  f'{run.work_dir} ({run.problem})'] if run.problem else []
    rows, lacking = summarize(groups, args.metric, args.flops, args.shape)
    print(markdown(rows, args.flops))
    if notes + lacking:
        print('\n'.join(notes + lacking))
    if not rows:
        raise SystemExit('no run with a config to compare')
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / 'compare.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out / 'compare.png')
    print(f'\nWrote {out / "compare.csv"} and {out / "compare.png"}')


if __name__ == '__main__':
    main()
