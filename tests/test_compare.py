"""tools/analysis/compare.py on real runs of the project's tools.

A module fixture trains (1 epoch, 200 images) and tests ResNet-20 on the
UCI digits with tools/train.py and tools/test.py: baseline with two seeds,
+SE, +NC, and a +NC run that was trained but never validated or tested.
The detection and segmentation metric keys are checked on hand-made work
dirs (real config dumps, written metrics), as those runs are slower.
"""
import csv
import importlib.util
import json
import os
import shutil
import statistics
from pathlib import Path
from typing import Dict, List

import pytest
from mmengine.config import Config
from toolrun import (
    ROOT,
    data_root_options,
    last_log_dir,
    read_test_metrics,
    run_tool,
)

from mmnc.analysis import compare as lib
from mmnc.analysis import paired_stats
from mmnc.datasets.synthetic import make_digits

CONFIG = 'configs/resnet_cifar/resnet20{}_1xb32-5e_digits.py'
ENV = dict(os.environ, OMP_NUM_THREADS='1')
TOP1 = 'accuracy/top1'
PNG = b'\x89PNG\r\n\x1a\n'


def load_compare():
    """tools/analysis/compare.py as a module."""
    spec = importlib.util.spec_from_file_location(
        'compare', ROOT / 'tools' / 'analysis' / 'compare.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tables(text: str) -> Dict[str, Dict[str, List[str]]]:
    """{heading: {variant: cells after the variant}} of the Markdown."""
    out, rows = {}, None
    for line in text.splitlines():
        if line.startswith('### '):
            rows = out.setdefault(line[4:], {})
        elif rows is not None and line.startswith('| ') and '---' not in line:
            cells = [c.strip() for c in line.strip('|').split('|')]
            rows[cells[0]] = cells[1:]
    return out


@pytest.fixture(scope='module')
def runs(tmp_path_factory) -> Path:
    """Work dirs base-s0, base-s1, se, nc (train + test in one dir each) and
    nc-untested (trained only, validation not reached)."""
    tmp = tmp_path_factory.mktemp('compare')
    data = tmp / 'digits'
    make_digits(data)
    opts = data_root_options(data) + [
        'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=200']
    for name, variant, extra in [
            ('base-s0', '', 'randomness.seed=0'),
            ('base-s1', '', 'randomness.seed=1'),
            ('se', '-se', 'randomness.seed=0'),
            ('nc', '-nc', 'randomness.seed=0'),
            ('nc-untested', '-nc', 'train_cfg.val_begin=2')]:
        work_dir = tmp / 'runs' / name
        config = CONFIG.format(variant)
        last = ['--test-last'] if name == 'se' else []  # tested in-process
        run_tool('tools/train.py', config, '--work-dir', work_dir, *last,
                 '--cfg-options', *opts, extra, env=ENV)
        if name not in ('nc-untested', 'se'):
            run_tool('tools/test.py', config, work_dir / 'epoch_1.pth',
                     '--work-dir', work_dir, '--cfg-options', *opts, env=ENV)
    return tmp / 'runs'


def test_train_test_last_gives_what_tools_test_gives(runs, tmp_path):
    """tools/train.py --test-last (the +SE run) writes the metrics and
    per-image results tools/test.py gives for the last checkpoint."""
    opts = data_root_options(runs.parent / 'digits') + [
        'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=200']
    run_tool('tools/test.py', CONFIG.format('-se'),
             runs / 'se' / 'epoch_1.pth', '--work-dir', tmp_path,
             '--cfg-options', *opts, env=ENV)
    last, alone = (last_log_dir(d) for d in (runs / 'se', tmp_path))
    assert (last / 'vis_data' / 'scalars.json').is_file()  # the training's
    ours, theirs = (lib.numbers(read_test_metrics(d)) for d in (runs / 'se',
                                                                tmp_path))
    assert ours[TOP1] == theirs[TOP1]
    got, want = (paired_stats.load(d / 'per_image.npz') for d in (last, alone))
    assert got.arrays.keys() == want.arrays.keys()
    for key in want.arrays:
        assert (got.arrays[key] == want.arrays[key]).all(), key
    assert (got.ids == want.ids).all()


def test_compare_real_runs(runs, tmp_path):
    out = tmp_path / 'out'
    proc = run_tool('tools/analysis/compare.py', runs / 'base-*', runs / 'se',
                    runs / 'nc', runs / 'nc-untested', tmp_path / 'nope',
                    '--out-dir', out, '--flops', env=ENV)
    text = proc.stdout[proc.stdout.index('### '):]
    print(text)
    top1 = {d.name: read_test_metrics(d)[TOP1] for d in runs.iterdir()
            if d.name != 'nc-untested'}
    base = [top1['base-s0'], top1['base-s1']]
    se, nc = top1['se'], top1['nc']

    # one task, the three variants in order, baseline = mean ± std of 2
    assert list(tables(text)) == [
        'resnet20_1xb32-5e_digits (mmpretrain, CustomDataset)']
    table = tables(text)['resnet20_1xb32-5e_digits (mmpretrain, '
                         'CustomDataset)']
    assert list(table) == ['variant', 'baseline', '+SE', '+NC']
    assert table['variant'][:4] == ['n', TOP1, 'Δ base', 'Δ SE']
    mean, std = statistics.mean(base), statistics.stdev(base)
    assert table['baseline'][:4] == ['2', f'{mean:.2f} ± {std:.2f}', '', '']
    assert table['+SE'][:4] == ['1', f'{se:.2f}', f'{se - mean:+.2f}', '']
    assert table['+NC'][:4] == ['1', f'{nc:.2f}', f'{nc - mean:+.2f}',
                                f'{nc - se:+.2f}']

    # failed and absent runs listed, not dropped
    assert (f'missing: {runs / "nc-untested"} (trained, but never tested or '
            'validated)') in text
    assert f'missing: {tmp_path / "nope"} (no such work dir)' in text
    assert (f'Wrote {out / "compare.csv"}, {out / "differences.csv"} and '
            f'{out / "compare.png"}') in text

    # tools/test.py wrote per-image results beside unchanged metrics
    log = last_log_dir(runs / 'nc')
    assert (log / 'per_image.npz').is_file()
    assert set(read_test_metrics(runs / 'nc')) == {TOP1, 'data_time', 'time'}

    # intervals from the per-image results tools/test.py wrote: each run
    # paired by seed (0) with base-s0, on every test image
    tested = len(list((runs.parent / 'digits').glob('test/*/*.png')))
    assert table['variant'][4] == '95% CI'
    low, high = map(float, table['baseline'][4].strip('[]').split(', '))
    assert low < mean < high
    with open(out / 'differences.csv') as f:
        diffs = {r['comparison']: r for r in csv.DictReader(f)}
    assert list(diffs) == ['+SE vs baseline', '+NC vs baseline',
                           '+NC vs +SE']
    for name, want in (('+SE vs baseline', se - top1['base-s0']),
                       ('+NC vs baseline', nc - top1['base-s0']),
                       ('+NC vs +SE', nc - se)):
        d = diffs[name]
        assert float(d['mean']) == pytest.approx(want, abs=1e-3)
        assert float(d['low']) <= float(d['mean']) <= float(d['high'])
        assert (d['seeds'], d['images']) == ('1 paired seed', str(tested))
        assert f'{TOP1}: {d["verdict"]}' in text
        assert d['verdict'].endswith(', 1 seed: seed noise not counted)')
        assert float(d['se_images']) > 0 and d['se_seeds'] == 'nan'

    with open(out / 'compare.csv') as f:
        rows = {r['variant']: r for r in csv.DictReader(f)}
    assert list(rows) == ['baseline', '+SE', '+NC']
    b, s, n = rows['baseline'], rows['+SE'], rows['+NC']
    assert {r['metric'] for r in rows.values()} == {TOP1}
    assert (b['n'], s['n'], n['n']) == ('2', '1', '1')
    assert float(b['mean']) == pytest.approx(mean)
    assert float(b['std']) == pytest.approx(std)
    assert float(s['delta_baseline']) == pytest.approx(se - mean)
    assert float(n['delta_baseline']) == pytest.approx(nc - mean)
    assert float(n['delta_se']) == pytest.approx(nc - se)
    assert b['delta_baseline'] == b['delta_se'] == s['delta_se'] == ''
    assert b['work_dirs'].split(';') == [str(runs / 'base-s0'),
                                         str(runs / 'base-s1')]
    assert n['work_dirs'] == str(runs / 'nc')  # not the untested one
    # the blocks add parameters and FLOPs
    params = [int(r['params']) for r in (b, s, n)]
    assert params[0] < params[1] and params[0] < params[2]
    assert all(float(r['flops']) > 0 for r in (b, s, n))

    png = (out / 'compare.png').read_bytes()
    assert png.startswith(PNG) and len(png) > 1000


def test_val_fallback_and_crash(runs, tmp_path, capsys):
    """A training run's last validation stands in for a missing test (and
    is flagged); a test run that died leaves only a log: missing."""
    trained = tmp_path / 'se-train-only'
    ts = sorted(d for d in (runs / 'se').iterdir() if d.is_dir())[0]
    shutil.copytree(ts, trained / ts.name, ignore=shutil.ignore_patterns(
        f'{ts.name}.json', 'per_image.npz'))  # its --test-last's
    for py in (runs / 'se').glob('*.py'):
        shutil.copy(py, trained)
    retested, died = tmp_path / 'nc-retested', tmp_path / 'nc-died'
    shutil.copytree(runs / 'nc', retested)
    test_log = last_log_dir(retested)
    (test_log / f'{test_log.name}.json').unlink()  # the test crashed
    train_log = sorted(d for d in retested.iterdir() if d.is_dir())[0]
    shutil.copytree(retested, died, ignore=shutil.ignore_patterns(
        train_log.name, '*.pth'))

    compare = load_compare()
    compare.main([str(trained), str(retested), str(died), '--out-dir',
                  str(tmp_path / 'out')])
    text = capsys.readouterr().out
    print(text)

    def last_val(log_dir: Path) -> float:
        lines = (log_dir / 'vis_data' / 'scalars.json').read_text()
        return json.loads(lines.splitlines()[-1])[TOP1]

    table = next(iter(tables(text).values()))
    assert table['+SE'][:2] == ['1', f'{last_val(ts):.2f}']
    assert table['+NC'][:2] == ['1', f'{last_val(train_log):.2f}']
    assert table['baseline'][:2] == ['0', '—']
    crash = (f'run {test_log.name} ended without metrics; crashed? see its '
             '.log')
    assert (f'val only: {trained} (no test metrics; used the last val of '
            f'{ts.name})') in text
    assert (f'val only: {retested} (no test metrics; used the last val of '
            f'{train_log.name}; {crash})') in text
    assert f'missing: {died} ({crash})' in text


def make_work_dir(root: Path, config: str, metrics: dict) -> Path:
    """A work dir as tools/test.py leaves it: config dumps and metrics."""
    name = Path(config).stem
    log_dir = root / name / '20240101_000000'
    (log_dir / 'vis_data').mkdir(parents=True)
    cfg = Config.fromfile(str(ROOT / config))
    cfg.dump(str(log_dir / 'vis_data' / 'config.py'))
    cfg.dump(str(root / name / f'{name}.py'))
    (log_dir / f'{log_dir.name}.json').write_text(
        json.dumps(dict(metrics, data_time=0.1, time=0.2)))
    return root / name


@pytest.mark.classic
def test_detection_and_segmentation_keys(tmp_path, capsys):
    det = ('configs/faster_rcnn/faster-rcnn_r101-caffe-c4{}_1xb2-2e_coco-'
           'tiny.py')
    voc = 'configs/faster_rcnn/faster-rcnn_r101-caffe-c4{}_ms-18k_voc0712.py'
    seg = ('configs/deeplabv2/deeplabv2_r101-d8{}_1xb2-40i_vocseg-tiny-'
           '64x64.py')
    coco_map = {'': 0.301, '-se': 0.312, '-nc': 0.327}
    miou = {'': 60.5, '-se': 61.0, '-nc': 62.25}
    runs = tmp_path / 'runs'
    for v in ('', '-se', '-nc'):
        make_work_dir(runs, det.format(v), {'coco/bbox_mAP': coco_map[v],
                                            'coco/bbox_mAP_50': 0.5})
        make_work_dir(runs, seg.format(v), {'aAcc': 90.0, 'mIoU': miou[v],
                                            'mAcc': miou[v] + 10})
    for v in ('', '-nc'):  # no +SE run
        make_work_dir(runs, voc.format(v), {'pascal_voc/mAP': 0.7,
                                            'pascal_voc/AP50': 0.7})
    compare = load_compare()
    compare.main([str(runs), '--out-dir', str(tmp_path / 'out')])  # parent
    text = capsys.readouterr().out
    print(text)
    got = tables(text)
    assert list(got) == [
        'deeplabv2_r101-d8_1xb2-40i_vocseg-tiny-64x64 (mmseg, '
        'PascalVOCDataset)',
        'faster-rcnn_r101-caffe-c4_1xb2-2e_coco-tiny (mmdet, CocoDataset)',
        'faster-rcnn_r101-caffe-c4_ms-18k_voc0712 (mmdet, VOCDataset)']
    segt, cocot, voct = got.values()

    assert segt['variant'][:7] == ['n', 'mIoU', 'Δ base', 'Δ SE', 'mAcc',
                                   'Δ base', 'Δ SE']
    assert segt['+NC'][:7] == ['1', '62.25', '+1.75', '+1.25', '72.25',
                               '+1.75', '+1.25']
    assert cocot['variant'][:2] == ['n', 'coco/bbox_mAP (%)']
    assert cocot['+SE'][:3] == ['1', '31.20', '+1.10']
    assert cocot['+NC'][:4] == ['1', '32.70', '+2.60', '+1.50']
    assert voct['variant'][1] == 'pascal_voc/mAP (%)'
    assert voct['+SE'] == ['0', '—', '—', '', '—']  # absent variant
    assert voct['+NC'][:4] == ['1', '70.00', '+0.00', '—']
    # #params from the config: the blocks add some
    params = {v: float(cocot[v][-1].rstrip('M')) for v in cocot
              if v != 'variant'}
    assert params['baseline'] < min(params['+SE'], params['+NC'])

    with open(tmp_path / 'out' / 'compare.csv') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * 2 + 3 * 2 + 3  # seg, coco: two metrics each
    assert (tmp_path / 'out' / 'compare.png').read_bytes().startswith(PNG)

    # --metric picks the columns; a run without that key is listed
    (runs / 'deeplabv2_r101-d8_1xb2-40i_vocseg-tiny-64x64' / '20240101_000000'
     / '20240101_000000.json').write_text('{"mIoU": 1.0}')
    compare.main([str(runs / 'deeplab*'), '--metric', 'mAcc', '--out-dir',
                  str(tmp_path / 'out')])
    text = capsys.readouterr().out
    segt = tables(text)[list(got)[0]]
    assert segt['variant'][:4] == ['n', 'mAcc', 'Δ base', 'Δ SE']
    assert segt['baseline'][:2] == ['0', '—']
    assert segt['+NC'][:4] == ['1', '72.25', '—', '+1.25']
    assert (f'missing: {runs / "deeplabv2_r101-d8_1xb2-40i_vocseg-tiny-64x64"}'
            ' (no mAcc in its metrics)') in text


def test_names_and_variants():
    strip = {
        'faster-rcnn_r101-caffe-c4-nc_1x_coco': 'faster-rcnn_r101-caffe-c4'
        '_1x_coco',
        'deeplabv2_r101-d8-se_4xb4-20k_voc12aug-321x321': 'deeplabv2_r101-d8'
        '_4xb4-20k_voc12aug-321x321',
        'resnext50-4x32d-nc_8xb32_in1k': 'resnext50-4x32d_8xb32_in1k',
        'mobilenet-v2-se_8xb32_in1k': 'mobilenet-v2_8xb32_in1k',
        'resnet20-seg_x-nc': 'resnet20-seg_x',  # '-seg' is no variant
    }
    for name, task in strip.items():
        run = lib.Run(Path(name), cfg=Config(dict(default_scope='x')),
                      name=name)
        assert lib.task_of(run) == (task, 'x', '?')
    model = dict(backbone=dict(plugins=[dict(cfg=dict(type='mmnc.NCBlock'))],
                               stages=(dict(type='SEBlock'), )))
    assert lib.variant_of(Config(dict(model=model))) == '+NC'
    model['backbone']['plugins'] = []
    assert lib.variant_of(Config(dict(model=model))) == '+SE'
    assert lib.variant_of(Config(dict(model=dict(type='X')))) == 'baseline'


def test_expand_finds_runs_below_a_parent(tmp_path):
    """``compare.py work_dirs/demo/det``: every work dir at any depth below
    the folder, none of their own subfolders, the empty folder kept for
    read_run to report (a one-level search, or one that descends into a
    work dir's ``<timestamp>/`` runs, fails this)."""
    from mmnc.analysis.compare import expand
    wanted = [tmp_path / 'det' / cfg / seed for cfg in ('base', 'nc')
              for seed in ('seed1', 'seed2')] + [tmp_path / 'det' / 'flat']
    for d in wanted:
        (d / '20261207_010203' / 'vis_data').mkdir(parents=True)
    (tmp_path / 'empty').mkdir()
    dirs, unmatched = expand([str(tmp_path / 'det'), str(tmp_path / 'empty'),
                              str(tmp_path / 'det' / 'nc' / 'seed1')])
    assert dirs == [d.resolve() for d in sorted(wanted)] + [
        (tmp_path / 'empty').resolve()]
    assert unmatched == []
