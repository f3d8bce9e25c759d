"""Differences between variants with 95% intervals over test images and seeds.

A variant's score varies with the seed (data order, initialisation) and
with the test images (another test set of the same kind gives another
score). The interval of a difference accounts for both by a paired
bootstrap (Koehn 2004; Efron & Tibshirani 1993, percentile interval):

* images: every replicate draws the test images with replacement, the same
  draw for every run of both variants, and recomputes each run's metric
  exactly on it (from ``per_image.npz``, :mod:`mmnc.evaluation.per_image`);
* seeds: runs of the two variants with the same seed (same data order and
  pretrained trunk) are paired; each replicate draws the seed pairs with
  replacement and averages their differences. Their spread around the mean
  is scaled by ``sqrt(n / (n - 1))`` (the bootstrap's variance is short by
  that factor). Runs without a partner of the same seed are left out; with
  no pair at all, each variant's seeds are drawn on their own (unpaired).
  With one seed (pair) the seed noise is unknown and not counted.

The difference is *resolved* when its interval leaves out zero. Its two
standard errors say where the width comes from: from the images (the sd of
the seeds' mean over the image draws; more test images shrink it) and from
the seeds (the sd of the per-seed results on all images over sqrt(n); more
seeds shrink it).
"""
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

N_BOOT = 1000
LEVEL = 0.95


@dataclass
class PerImage:
    """One test run's ``per_image.npz``: task, image ids, arrays."""

    task: str
    ids: np.ndarray
    arrays: Dict[str, np.ndarray]


def load(path: Path) -> PerImage:
    """Read a ``per_image.npz`` (no pickled objects are loaded)."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return PerImage(str(arrays.pop('task')), arrays.pop('ids'), arrays)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Per-class ratios, NaN where ``den`` is 0, NaN-mean over classes, %."""
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.nanmean(num / np.where(den == 0, np.nan, den), -1) * 100


def coco_orders(a: Dict[str, np.ndarray]) -> List[np.ndarray]:
    """Per class, its detections in pycocotools' order: by score, ties in
    image order (stable)."""
    return [m[np.argsort(-a['det_score'][m], kind='mergesort')]
            for m in (np.flatnonzero(a['det_cat'] == k)
                      for k in range(a['gt_count'].shape[1]))]


def coco_ap(a: Dict[str, np.ndarray], w: np.ndarray,
            thrs: slice | np.ndarray = slice(None),
            orders: List[np.ndarray] | None = None) -> float:
    """COCO box AP (area 'all', 100 detections) of the images weighted by
    ``w`` (how often each is drawn), as pycocotools' ``accumulate`` and
    ``summarize`` compute it from the per-image matches, in %.

    An image drawn ``n`` times adds each of its detections ``n`` times in a
    row (equal scores). Only the last of such a row can change the
    precision envelope where a recall threshold falls, so the row is one
    point with the counts of all ``n``; a detection of weight 0 repeats the
    point before it, which changes nothing either.
    """
    rec_thrs = np.linspace(0, 1, 101)
    npig = w @ a['gt_count']
    aps = []
    for k, order in enumerate(orders or coco_orders(a)):
        if not npig[k]:
            continue
        wd = w[a['det_image'][order]][:, None]
        keep = ~a['det_ignore'][order][:, thrs]
        hit = a['det_match'][order][:, thrs]
        tp = np.cumsum(wd * (hit & keep), 0).T.astype(float)  # [T, D]
        fp = np.cumsum(wd * (~hit & keep), 0).T.astype(float)
        pr = np.maximum.accumulate(
            (tp / (fp + tp + np.spacing(1)))[:, ::-1], 1)[:, ::-1]
        for rc, pr_t in zip(tp / npig[k], pr):
            inds = np.searchsorted(rc, rec_thrs, side='left')
            aps.append(pr_t[inds[inds < len(pr_t)]].sum() / len(rec_thrs))
    return float(np.mean(aps)) * 100 if aps else math.nan


def metric_fn(run: PerImage, key: str) -> Callable[[np.ndarray], np.ndarray]:
    """``f(W) -> [B]``: the metric ``key`` (in %) of ``run`` on each row of
    image weights ``W`` [B, N] (ones: the whole test set); for a run of
    task ``'per_image_mean'`` the weighted mean of its array ``key`` (one
    value per image), as given.

    Raises:
        KeyError: The run's per-image results cannot give ``key``.
    """
    a = run.arrays
    if run.task == 'per_image_mean' and key in a:  # one value per image
        x = a[key].astype(float)  # (mmnc.analysis.channels); NaN: left out
        seen, x0 = ~np.isnan(x), np.nan_to_num(x)
        return lambda w: w @ x0 / (w @ seen)
    if run.task == 'cls' and key.startswith('accuracy/top') and \
            key[len('accuracy/top'):] in map(str, a['topk']):
        k = list(map(str, a['topk'])).index(key[len('accuracy/top'):])
        correct = a['correct'][:, k].astype(float)
        return lambda w: w @ correct / w.sum(1) * 100
    seg = dict(mIoU=(0, 1), mAcc=(0, 3), aAcc=(0, 3))
    if run.task == 'seg' and key in seg:
        num, den = seg[key]

        def seg_metric(w: np.ndarray) -> np.ndarray:
            areas = np.einsum('bn,nac->abc', w, a['areas'])  # [4, B, C]
            if key == 'aAcc':
                return areas[num].sum(-1) / areas[den].sum(-1) * 100
            return _ratio(areas[num], areas[den])
        return seg_metric
    iou = {'coco/bbox_mAP': None, 'coco/bbox_mAP_50': 0.5,
           'coco/bbox_mAP_75': 0.75}
    if run.task == 'det' and key in iou:
        thrs = slice(None) if iou[key] is None else np.flatnonzero(
            np.isclose(a['iou_thrs'], iou[key]))
        orders = coco_orders(a)
        return lambda w: np.array([coco_ap(a, row, thrs, orders)
                                   for row in w])
    raise KeyError(f'no {key} from per-image results of a {run.task} test')


@dataclass
class Interval:
    """A point estimate, its interval, and how it was made."""

    mean: float
    low: float
    high: float
    seeds: str  # e.g. '3 paired seeds', 'unpaired 2 vs 3 seeds'
    images: int
    se_images: float = math.nan  # standard error from the test images
    se_seeds: float = math.nan  # from the seeds (NaN: one seed)

    @property
    def resolved(self) -> bool:
        return not self.low <= 0 <= self.high

    def text(self, sign: str = '+') -> str:
        """``+1.95 [-0.80, +4.70]``."""
        return (f'{self.mean:{sign}.2f} [{self.low:{sign}.2f}, '
                f'{self.high:{sign}.2f}]')


def _seed_draws(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[B]: per replicate, the mean of ``values`` [n_seeds, B] over seeds
    drawn with replacement, spread scaled by ``sqrt(n / (n - 1))``."""
    n, b = values.shape
    if n == 1:
        return values[0]
    mean = values.mean(0)
    drawn = values[rng.integers(n, size=(n, b)), np.arange(b)].mean(0)
    return mean + math.sqrt(n / (n - 1)) * (drawn - mean)


def _common(runs: Sequence[PerImage]) -> np.ndarray:
    ids = runs[0].ids
    for r in runs[1:]:
        ids = np.intersect1d(ids, r.ids)
    return ids


def _image_draws(n: int, n_boot: int, rng: np.random.Generator
                 ) -> np.ndarray:
    """[n_boot, n]: how often each image is drawn, per replicate."""
    picks = rng.integers(n, size=(n_boot, n))
    return np.stack([np.bincount(p, minlength=n) for p in picks])


def _values(runs: Sequence[PerImage], key: str, ids: np.ndarray,
            draws: np.ndarray) -> np.ndarray:
    """[n_runs, B + 1]: each run's metric on the image draws (rows of
    counts over ``ids``) and, last, on all of ``ids``."""
    counts = np.vstack([draws, np.ones(len(ids), np.int64)])
    out = []
    for r in runs:
        w = np.zeros((len(counts), len(r.ids)), np.int64)
        w[:, np.searchsorted(r.ids, ids)] = counts
        out.append(metric_fn(r, key)(w))
    return np.array(out, float)


Values = Dict[object, np.ndarray]  # seed -> [B + 1], the last: all images


def bootstrap_values(groups: Dict[str, Dict[object, PerImage]], key: str,
                     n_boot: int = N_BOOT, seed: int = 0
                     ) -> Tuple[Dict[str, Values], int]:
    """Every run's metric on the same ``n_boot`` draws of the images that
    all runs of all groups were tested on.

    Args:
        groups: Per-image results by variant, then by seed (None or any
            key no other variant has: no seed to pair with).
        key: A metric key, e.g. ``'accuracy/top1'``, ``'mIoU'``,
            ``'coco/bbox_mAP'``.
        n_boot: Bootstrap replicates. Default: 1000.
        seed: Of the draws (the result is reproducible).

    Returns:
        tuple: ``{variant: {seed: [n_boot + 1]}}`` (the last value: on all
        the images), and the number of images.
    """
    runs = [r for g in groups.values() for r in g.values()]
    ids = _common(runs)
    draws = _image_draws(len(ids), n_boot, np.random.default_rng(seed))
    return {v: dict(zip(g, _values(list(g.values()), key, ids, draws)))
            for v, g in groups.items()}, len(ids)


def _se_seeds(*values: np.ndarray) -> float:
    """Standard error of a mean (or a difference of means) over seeds, from
    the results on all images: [n_seeds, B + 1] each."""
    n = [len(v) for v in values]
    return math.sqrt(sum(v[:, -1].var(ddof=1) / len(v) for v in values)
                     ) if min(n) > 1 else math.nan


def _interval(point: float, draws: np.ndarray, seeds: str, images: int,
              level: float, on_images: np.ndarray, se_seeds: float
              ) -> Interval:
    """``on_images``: [B], the seeds' mean on each image draw."""
    low, high = np.nanpercentile(draws, [50 * (1 - level),
                                         50 * (1 + level)])
    return Interval(point, float(low), float(high), seeds, images,
                    float(np.nanstd(on_images)), se_seeds)


def mean_interval(values: Values, images: int, level: float = LEVEL,
                  seed: int = 0) -> Interval:
    """A variant's mean over its seeds with its interval."""
    vals = np.array(list(values.values()))
    n = len(vals)
    return _interval(float(vals[:, -1].mean()), _seed_draws(
        vals[:, :-1], np.random.default_rng(seed)),
        f'{n} seed' + 's' * (n > 1), images, level,
        vals[:, :-1].mean(0), _se_seeds(vals))


def difference(b: Values, a: Values, images: int, level: float = LEVEL,
               seed: int = 0) -> Interval:
    """``b`` minus ``a`` (means over seeds) with its interval: seeds in
    both are paired, the others left out; none in both: unpaired."""
    rng = np.random.default_rng(seed)
    pairs = sorted((s for s in set(a) & set(b) if s is not None), key=str)
    vb = np.array([b[s] for s in pairs] if pairs else list(b.values()))
    va = np.array([a[s] for s in pairs] if pairs else list(a.values()))
    point = float(vb[:, -1].mean() - va[:, -1].mean())
    if pairs:
        diff = _seed_draws(vb[:, :-1] - va[:, :-1], rng)
        seeds = f'{len(pairs)} paired seed' + 's' * (len(pairs) > 1)
        se = _se_seeds(vb - va)
    else:
        diff = _seed_draws(vb[:, :-1], rng) - _seed_draws(va[:, :-1], rng)
        seeds = f'unpaired: {len(vb)} vs {len(va)} seeds'
        se = _se_seeds(vb, va)
    return _interval(point, diff, seeds, images, level,
                     vb[:, :-1].mean(0) - va[:, :-1].mean(0), se)


def variant_interval(runs: Dict[object, PerImage], key: str,
                     n_boot: int = N_BOOT, level: float = LEVEL,
                     seed: int = 0) -> Interval:
    """A variant's mean metric over its runs (by seed) with its interval."""
    values, images = bootstrap_values({'v': runs}, key, n_boot, seed)
    return mean_interval(values['v'], images, level, seed)


def paired_difference(b: Dict[object, PerImage], a: Dict[object, PerImage],
                      key: str, n_boot: int = N_BOOT, level: float = LEVEL,
                      seed: int = 0) -> Interval:
    """Mean of ``key`` in ``b`` minus in ``a`` (per-image results by seed)
    with its interval, on the images all their runs were tested on."""
    values, images = bootstrap_values({'b': b, 'a': a}, key, n_boot, seed)
    return difference(values['b'], values['a'], images, level, seed)


def verdict(name: str, d: Interval) -> str:
    """``+NC vs +SE: +1.95 [-0.80, +4.70], not resolved (2 paired seeds,
    128 images; s.e. images 0.90, seeds 1.20)``."""
    word = 'resolved' if d.resolved else 'not resolved'
    seeds = ('1 seed: seed noise not counted' if math.isnan(d.se_seeds)
             else f'seeds {d.se_seeds:.2f}')
    return (f'{name}: {d.text()}, {word} ({d.seeds}, {d.images} images; '
            f's.e. images {d.se_images:.2f}, {seeds})')


COMPARISONS: List[Tuple[str, str]] = [
    ('+SE', 'baseline'), ('+NC', 'baseline'), ('+Convs', 'baseline'),
    ('+NC', '+SE'), ('+NC', '+Convs')]
