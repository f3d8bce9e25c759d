"""Find OpenMMLab runs and read them: a :class:`Run` per work dir (its
metrics, config, seed and per-image results, :func:`read_run`), found below
any folder (:func:`expand`), grouped by task and variant (:func:`group`).
"""
import glob
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from mmengine.config import Config

VARIANTS = ('baseline', '+SE', '+NC', '+Convs')  # +Convs: shown when run
BLOCKS = {'NCBlock': '+NC', 'SEBlock': '+SE', 'ConvsBlock': '+Convs'}
METRICS = ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'pascal_voc/mAP', 'mIoU',
           'mAcc', 'accuracy/top1', 'accuracy/top5')
BOOKKEEPING = {'time', 'data_time', 'step', 'epoch', 'iter', 'lr', 'memory'}
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
