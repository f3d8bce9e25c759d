"""Compare baseline / +SE / +NC / +Convs runs of OpenMMLab work dirs.

The library of ``tools/analysis/compare.py``: runs are found, read and
grouped in :mod:`.runs`; here they are summed up as one row per task,
variant and metric (:func:`summarize`), with 95% intervals and verdicts
from the runs' per-image results (:func:`differences`,
:mod:`.paired_stats`); :mod:`.report` writes the tables and the chart.
The names of :mod:`.runs` and :mod:`.report` are importable from here too.
"""
import statistics
from typing import Any, Callable, Dict, List, Tuple

from mmengine.config import Config, ConfigDict

from . import paired_stats
from .complexity import complexity
from .report import DASH, fmt, markdown, plot, same_task, spread  # noqa: F401
from .runs import (  # noqa: F401
    BLOCKS,
    BOOKKEEPING,
    METRICS,
    VARIANTS,
    Run,
    Task,
    expand,
    group,
    log_dirs,
    numbers,
    read_run,
    task_of,
    variant_of,
)

PERCENT = ('coco/', 'pascal_voc/')  # mmdet logs these in [0, 1]


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


def count_flops(cfg: Config, shape: List[int] | None) -> Tuple[int, float]:
    """#params and FLOPs, as ``tools/analysis/complexity.py`` counts them."""
    cfg.model = strip_init(cfg.model)
    r = complexity(cfg, shape and (shape * 2)[:2])
    return r['params'], r['flops']


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
