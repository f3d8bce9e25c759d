"""The intervals of mmnc.analysis.paired_stats, and the per-image results.

Coverage: classifiers simulated with a known true difference (images of
random difficulty and effect, seeds that shift both variants alike), a few
hundred comparisons; the paired bootstrap's 95% intervals cover the truth
at about 95%, while a seed-only interval (t over the seeds' differences on
the one test set) misses the test-set noise and an unpaired bootstrap is
far too wide. Exactness: the metrics recomputed from ``per_image.npz`` on
a subset of images equal the toolbox's own metric run on that subset.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from mmnc.analysis import paired_stats as ps
from mmnc.evaluation import PerImageResults

N_IMAGES, SEEDS, TRUE_EFFECT = 400, 3, 0.3
T_975 = {2: 12.706, 3: 4.303, 4: 3.182}  # Student t, 2.5% upper quantile


def simulate(effect: float, rng: np.random.Generator, m: int = 0,
             shift: float = 0.0) -> dict:
    """Per-image results of a baseline 'A' and a variant 'B', by seed.

    An image is right when ``a + effect * c + shift + u + g + e > 0`` (for
    A: ``effect = shift = 0``): ``a`` its difficulty, ``c`` how much the
    variant helps on it (both fixed per test image; c varies widely, so the
    test images matter), ``u`` the seed's shift (the same for both
    variants: pairing), ``g`` each run's own and ``e`` each image-run's
    noise. With ``m``: instead the true accuracy difference (in %) over
    ``m`` new images and seeds.
    """
    n = m or N_IMAGES
    a, c = rng.normal(1, 2, n), rng.normal(1, 3, n)
    runs: dict = {'A': {}, 'B': {}}
    for seed in range(1 if m else SEEDS):
        u = rng.normal(0, 0.1, n if m else 1)
        for v, d, s in (('A', 0.0, 0.0), ('B', effect, shift)):
            right = a + d * c + s + u + rng.normal(0, 0.02, u.shape) + \
                rng.normal(0, 0.05, n) > 0
            runs[v][seed] = ps.PerImage('cls', np.arange(n), dict(
                topk=np.array([1]), correct=right[:, None]))
    if m:
        return 100 * (runs['B'][0].arrays['correct'].mean() -
                      runs['A'][0].arrays['correct'].mean())
    return runs


def seed_only(runs: dict) -> tuple:
    """A t interval over the seeds' differences on the one test set."""
    d = np.array([100 * (runs['B'][s].arrays['correct'].mean() -
                         runs['A'][s].arrays['correct'].mean())
                  for s in runs['A']])
    half = T_975[len(d)] * d.std(ddof=1) / math.sqrt(len(d))
    return d.mean() - half, d.mean() + half


def unpaired(runs: dict, rng: np.random.Generator, n_boot: int) -> tuple:
    """A bootstrap that draws images and seeds for each variant apart."""
    ids = np.arange(N_IMAGES)
    means = [ps._seed_draws(ps._values(
        list(runs[v].values()), 'accuracy/top1', ids,
        ps._image_draws(N_IMAGES, n_boot, rng))[:, :-1], rng)
        for v in 'AB']
    return tuple(np.percentile(means[1] - means[0], [2.5, 97.5]))


def test_coverage():
    rng = np.random.default_rng(0)
    truth = simulate(TRUE_EFFECT, rng, m=2_000_000)
    hits = dict(paired=0, seed_only=0, unpaired=0)
    trials = 300
    for i in range(trials):
        runs = simulate(TRUE_EFFECT, rng)
        d = ps.paired_difference(runs['B'], runs['A'], 'accuracy/top1',
                                 n_boot=400, seed=i)
        assert d.seeds == '3 paired seeds' and d.images == N_IMAGES
        hits['paired'] += d.low <= truth <= d.high
        low, high = seed_only(runs)
        hits['seed_only'] += low <= truth <= high
        low, high = unpaired(runs, rng, 400)
        hits['unpaired'] += low <= truth <= high
    rate = {k: v / trials for k, v in hits.items()}
    print(f'true difference {truth:.2f}; coverage {rate}')
    ok = (0.92, 0.98)  # 95% +- 2.4 binomial sd of 300 trials
    assert ok[0] <= rate['paired'] <= ok[1]
    assert rate['seed_only'] < ok[0]  # blind to the test images' noise
    assert rate['unpaired'] > ok[1]  # ignores the pairing: too wide


def test_zero_and_large_differences():
    rng = np.random.default_rng(1)
    calls = dict(zero=0, large=0)
    for i in range(100):
        for name, shift in (('zero', 0.0), ('large', 1.0)):
            runs = simulate(0.0, rng, shift=shift)
            d = ps.paired_difference(runs['B'], runs['A'], 'accuracy/top1',
                                     n_boot=400, seed=i)
            calls[name] += d.resolved
    assert calls['zero'] <= 10  # about 5% expected
    assert calls['large'] == 100


def test_seeds_unpaired_and_single():
    rng = np.random.default_rng(2)
    runs = simulate(TRUE_EFFECT, rng)
    b = {s + 10: r for s, r in runs['B'].items()}  # no seed in common
    d = ps.paired_difference(b, runs['A'], 'accuracy/top1', n_boot=200)
    assert d.seeds == 'unpaired: 3 vs 3 seeds'
    one = ps.paired_difference({0: runs['B'][0]}, {0: runs['A'][0]},
                               'accuracy/top1', n_boot=200)
    assert one.seeds == '1 paired seed'
    assert 'seed noise not counted' in ps.verdict('+NC vs baseline', one)
    v = ps.variant_interval(runs['A'], 'accuracy/top1', n_boot=200)
    assert v.low <= v.mean <= v.high and v.seeds == '3 seeds'
    # reproducible; the same images of every run are used
    assert ps.paired_difference(b, runs['A'], 'accuracy/top1',
                                n_boot=200) == d
    runs['A'][0].ids = np.arange(1, N_IMAGES + 1)
    assert ps.variant_interval(runs['A'], 'accuracy/top1',
                               n_boot=10).images == N_IMAGES - 1
    for key in ('mIoU', 'accuracy/top5'):  # topk: (1, )
        with pytest.raises(KeyError, match=f'no {key}'):
            ps.metric_fn(runs['A'][1], key)


def test_standard_errors():
    """Where the width comes from: seeds that agree add none; a variant
    that fixes k of n images, the same ones for every seed, has the
    binomial standard error of k / n from the images; per-seed differences
    d1, d2 give |d1 - d2| / 2 from the seeds."""
    n, k = 400, 40
    wrong = np.zeros((n, 1), bool)
    fixed = wrong.copy()
    fixed[:k] = True

    def runs(*correct):
        return {s: ps.PerImage('cls', np.arange(n), dict(
            topk=np.array([1]), correct=c)) for s, c in enumerate(correct)}

    same = ps.paired_difference(runs(fixed, fixed), runs(wrong, wrong),
                                'accuracy/top1', n_boot=2000)
    p = k / n
    assert same.mean == pytest.approx(100 * p)
    assert same.se_seeds == 0
    assert same.se_images == pytest.approx(
        100 * math.sqrt(p * (1 - p) / n), rel=0.1)
    half = fixed.copy()
    half[k // 2:] = False  # seed 1 fixes k / 2 images
    apart = ps.paired_difference(runs(fixed, half), runs(wrong, wrong),
                                 'accuracy/top1', n_boot=200)
    assert apart.se_seeds == pytest.approx(100 * (p - p / 2) / 2)
    assert 's.e. images' in ps.verdict('b vs a', apart)
    values, images = ps.bootstrap_values({'v': runs(fixed, fixed)},
                                         'accuracy/top1', 200)
    assert ps.mean_interval(values['v'], images).se_seeds == 0


def written(metric: PerImageResults, samples: list, path: Path):
    metric.process({}, samples)
    metric.evaluate(len(samples))
    return ps.load(path)


def test_classification_exact(tmp_path):
    from mmpretrain.evaluation import Accuracy
    rng = np.random.default_rng(3)
    samples = [dict(sample_idx=i, gt_label=torch.tensor([rng.integers(10)]),
                    pred_score=torch.tensor(rng.random(10)))
               for i in range(50)]
    metric = PerImageResults(str(tmp_path / 'p.npz'))
    run = written(metric, samples, tmp_path / 'p.npz')
    subset = rng.choice(50, 20, replace=False)
    acc = Accuracy(topk=(1, 5))
    acc.process({}, [samples[i] for i in subset])
    want = acc.evaluate(20)
    w = np.zeros((1, 50), np.int64)
    w[0, subset] = 1
    for k in (1, 5):
        got = ps.metric_fn(run, f'accuracy/top{k}')(w)[0]
        assert got == pytest.approx(want[f'accuracy/top{k}'])


def test_segmentation_exact(tmp_path):
    from mmseg.evaluation import IoUMetric
    rng = np.random.default_rng(4)
    classes = ('a', 'b', 'c', 'd')

    def sample(i):
        gt = torch.from_numpy(rng.integers(0, 4, (1, 16, 16)))
        gt[0, :2] = 255  # ignored
        pred = torch.where(torch.from_numpy(rng.random((1, 16, 16)) < .6),
                           gt, torch.from_numpy(rng.integers(0, 3, gt.shape)))
        return dict(img_path=f'x/{i:03d}.jpg', pred_sem_seg=dict(data=pred),
                    gt_sem_seg=dict(data=gt))

    samples = [sample(i) for i in range(12)]
    metric = PerImageResults(str(tmp_path / 'p.npz'))
    metric.dataset_meta = dict(classes=classes)
    run = written(metric, samples, tmp_path / 'p.npz')
    subset = [1, 4, 5, 9]
    iou = IoUMetric(iou_metrics=['mIoU'])
    iou.dataset_meta = dict(classes=classes)
    iou.process({}, [samples[i] for i in subset])
    want = iou.evaluate(len(subset))
    w = np.zeros((1, 12), np.int64)
    w[0, subset] = 1
    for key in ('aAcc', 'mIoU', 'mAcc'):  # mmseg rounds to 2 decimals
        assert ps.metric_fn(run, key)(w)[0] == pytest.approx(want[key],
                                                             abs=0.005)


def coco_json(path: Path, images: list, rng: np.random.Generator) -> list:
    """A COCO file of ``images`` with 2 categories; returns the boxes."""
    anns, boxes = [], []
    for img in images:
        for _ in range(rng.integers(1, 4)):
            x, y = rng.uniform(0, 40, 2)
            box = [x, y, rng.uniform(8, 24), rng.uniform(8, 24)]
            anns.append(dict(id=len(anns) + 1, image_id=img, bbox=box,
                             category_id=int(rng.integers(1, 3)),
                             area=box[2] * box[3], iscrowd=0))
            boxes.append((img, anns[-1]['category_id'], box))
    path.write_text(json.dumps(dict(
        images=[dict(id=i, width=64, height=64, file_name=f'{i}.jpg')
                for i in images], annotations=anns,
        categories=[dict(id=1, name='a'), dict(id=2, name='b')])))
    return boxes


def test_detection_exact(tmp_path):
    """On a subset, and on a bootstrap draw (a repeated image counts as a
    copy of itself, with the same boxes: as CocoMetric on the copies)."""
    from mmdet.evaluation import CocoMetric
    rng = np.random.default_rng(5)
    images = list(range(1, 13))
    boxes = coco_json(tmp_path / 'all.json', images, rng)
    samples = {}
    for img in images:  # noisy copies of the truth and a false box
        mine = [(c, b) for i, c, b in boxes if i == img]
        xyxy = [[x + rng.normal(0, 2), y + rng.normal(0, 2),
                 x + w + rng.normal(0, 2), y + h + rng.normal(0, 2)]
                for _, (x, y, w, h) in mine] + [[1, 1, 9, 9]]
        labels = [c - 1 for c, _ in mine] + [0]
        samples[img] = dict(img_id=img, ori_shape=(64, 64),
                            pred_instances=dict(
                                bboxes=torch.tensor(xyxy),
                                scores=torch.from_numpy(rng.random(
                                    len(xyxy))),
                                labels=torch.tensor(labels)))
    meta = dict(classes=('a', 'b'))
    metric = PerImageResults(str(tmp_path / 'p.npz'),
                             ann_file=str(tmp_path / 'all.json'))
    metric.dataset_meta = meta
    run = written(metric, list(samples.values()), tmp_path / 'p.npz')
    full = json.loads((tmp_path / 'all.json').read_text())
    for draw in (images, [2, 3, 5, 8, 11], [2, 2, 3, 7, 7, 7, 11]):
        copy = dict(full, images=[], annotations=[])
        for new, img in enumerate(draw, 100):
            copy['images'].append(dict(id=new, width=64, height=64,
                                       file_name=f'{new}.jpg'))
            for a in full['annotations']:
                if a['image_id'] == img:
                    copy['annotations'].append(dict(
                        a, image_id=new, id=len(copy['annotations']) + 1))
        (tmp_path / 'draw.json').write_text(json.dumps(copy))
        coco = CocoMetric(ann_file=str(tmp_path / 'draw.json'))
        coco.dataset_meta = meta
        coco.process({}, [dict(samples[img], img_id=new)
                          for new, img in enumerate(draw, 100)])
        want = coco.evaluate(len(draw))
        w = np.bincount(np.searchsorted(run.ids, draw),
                        minlength=len(run.ids))[None]
        for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50'):  # rounded to 3
            assert 0 < want[key] < 1
            assert ps.metric_fn(run, key)(w)[0] == pytest.approx(
                want[key] * 100, abs=0.05)
