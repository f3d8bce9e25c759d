"""The main job learns, and these tests tell learning from not learning.

A module fixture runs ``tools/demo.py --quick`` (the CI size of ``make
demo``: the mini protocol with one seed and shorter runs, through
tools/train.py and tools/test.py). Every variant must reach a threshold far
above an untrained model; a control that cannot learn (lr = 0, same
pretrained backbone) must stay below it. The insertion check (+NC on a
trained baseline's weights computes what the baseline did) must hold for
NCBlock and fail for two broken blocks: one whose output no longer carries
its input, one that no longer starts as the identity.
``pytest -k learn`` selects these tests.
"""
import re
import sys
from pathlib import Path

import pytest
from toolrun import ROOT, read_test_metrics, run_tool

sys.path.insert(0, str(ROOT / 'tools'))
import demo  # noqa: E402

pytestmark = pytest.mark.learn

# quick-mode thresholds (measured quick runs: det mAP50 ~55, seg mIoU ~40,
# digits top-1 ~96; the lr = 0 controls: det ~0, seg ~22)
THRESHOLDS = {'cls': ('accuracy/top1', 80.0),
              'det': ('coco/bbox_mAP_50', 0.35),
              'seg': ('mIoU', 32.0)}
HERE = Path(__file__).parent


@pytest.fixture(scope='module')
def quick_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp('demo')
    proc = run_tool('tools/demo.py', '--quick', '--out-dir', out)
    return out, proc.stdout


def task_runs(out: Path, task: str):
    return sorted((out / task).glob('*/seed1'))


@pytest.mark.parametrize('task', list(THRESHOLDS))
def test_learn_every_variant_above_the_threshold(quick_demo, task):
    out, _ = quick_demo
    key, threshold = THRESHOLDS[task]
    runs = task_runs(out, task)
    assert len(runs) == 3  # baseline, +SE, +NC
    for work in runs:
        assert read_test_metrics(work)[key] > threshold, work


def options(task: str, out: Path) -> list:
    return demo.run_options(
        task, out / 'pretrained' / 'resnet50-w16_shape-crops.pth', True)


SHORT = {'cls': ['train_cfg.max_epochs=1'],
         'det': ['train_cfg.max_epochs=1',
                 'train_dataloader.dataset.indices=8'],
         'seg': ['train_cfg.max_iters=4', 'param_scheduler.0.end=4',
                 'default_hooks.checkpoint.interval=4']}


@pytest.mark.parametrize('task', ['cls', 'det', 'seg'])
def test_learn_control_with_lr_0_stays_below(quick_demo, task, tmp_path):
    out, _ = quick_demo
    key, threshold = THRESHOLDS[task]
    config = demo.TASKS[task][0].format('')
    work = tmp_path / 'lr0'
    # with lr = 0 no step changes a weight (weight decay is scaled by lr
    # too), so a short run gives the weights a long one would (digits'
    # BN statistics settle within the first epoch; det/seg freeze every BN)
    opts = options(task, out) + ['optim_wrapper.optimizer.lr=0'] + SHORT[task]
    run_tool('tools/train.py', config, '--work-dir', work, '--cfg-options',
             *opts)
    ckpt = (work / 'last_checkpoint').read_text().strip()
    run_tool('tools/test.py', config, ckpt, '--work-dir', work,
             '--cfg-options', *opts)
    assert read_test_metrics(work)[key] < threshold


def test_learn_demo_prints_the_insertion_checks_and_the_comparison(
        quick_demo):
    out, stdout = quick_demo
    checks = re.findall(r'insertion check: (\w+)', stdout)
    assert checks == ['equal', 'equal'], checks
    for task in ('resnet20_1xb32-5e_digits',
                 'faster-rcnn_r50-w16-c4_1xb4-4e_coco-shapes',
                 'deeplabv2_r50-w16-d8_1xb8-400i_voc-shapes-128x128'):
        table = stdout.split(f'### {task} ')[1].split('###')[0]
        rows = [r for r in table.splitlines() if r.startswith('| ')]
        assert [r.split('|')[1].strip() for r in rows[2:]] == [
            'baseline', '+SE', '+NC'], table
        assert '—' not in table and '+NC vs +SE' in table
    assert (out / 'compare' / 'compare.png').read_bytes()[:4] == b'\x89PNG'
    assert 'missing:' not in stdout
    # step 6: the channel table of every toolbox, its CSVs and figures
    for task in ('resnet20_1xb32-5e_digits',
                 'faster-rcnn_r50-w16-c4_1xb4-4e_coco-shapes',
                 'deeplabv2_r50-w16-d8_1xb8-400i_voc-shapes-128x128'):
        table = stdout.split(f'### channels: {task}')[1].split('###')[0]
        assert '| statistic | baseline | +SE | +NC |' in table, task
        assert '+NC vs +SE: ' in table, task
        for fig in ('redundancy', 'affinity', 'key_spread'):
            png = out / 'channels' / f'{task}_{fig}.png'
            assert png.read_bytes()[:4] == b'\x89PNG', png
    assert len(list((out / 'channels').glob('*.csv'))) == 3 * 3 + 1


# tools/test.py with tests/broken_blocks.py registered
WITH_BROKEN_BLOCKS = f'''
import runpy, sys
sys.path.insert(0, {str(HERE)!r})
import broken_blocks  # noqa
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''
BROKEN = {
    'ConstantNC': 'output is a constant: it no longer carries its input',
    'NoisyNC': 'adds noise to its input: no longer the identity at start',
}


@pytest.mark.parametrize('task', ['det', 'seg'])
@pytest.mark.parametrize('block', list(BROKEN))
def test_learn_insertion_check_fails_for_broken_blocks(
        quick_demo, task, block):
    """The insertion check (raw outputs, bit for bit) on the trained
    baseline fails with a broken block in place of NCBlock (with NCBlock it
    passes: the demo's own check, asserted above)."""
    out, _ = quick_demo
    pattern, _ = demo.TASKS[task]
    base = next(w for w in task_runs(out, task)
                if not re.search(r'-(nc|se)_', w.parent.name))
    ckpt = (base / 'last_checkpoint').read_text().strip()
    plugins = ('model.roi_head.shared_head.plugins' if task == 'det'
               else 'model.backbone.plugins')
    proc = run_tool('-c', WITH_BROKEN_BLOCKS,
                    'tools/analysis/insertion_check.py', pattern.format(''),
                    pattern.format('-nc'), ckpt, '--cfg-options',
                    *options(task, out), '--nc-options',
                    f'{plugins}.0.cfg.type={block}', ok=False)
    assert 'insertion check: DIFFERENT' in proc.stdout, BROKEN[block]


def nc_decoders_moved(ckpt: Path) -> bool:
    """Whether every NC block's zero-initialised last decoder layer has
    moved from zero (NC learned something, everywhere)."""
    from mmengine.runner.checkpoint import _load_checkpoint

    import mmnc  # noqa: F401  (its checkpoint loader, torch >= 2.6)
    state = _load_checkpoint(str(ckpt), map_location='cpu')['state_dict']
    last = [v for k, v in state.items()
            if 'nc_block.decoder.2.' in k]
    return bool(last) and all(v.abs().max() > 0 for v in last)


def last_ckpt(work: Path) -> Path:
    return Path((work / 'last_checkpoint').read_text().strip())


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_learn_nc_decoders_moved_from_zero(quick_demo, task):
    out, _ = quick_demo
    nc = next(w for w in task_runs(out, task) if '-nc_' in w.parent.name)
    assert nc_decoders_moved(last_ckpt(nc))


def test_learn_frozen_nc_is_caught(quick_demo, tmp_path):
    """The control: +NC trained with NC's lr at 0 (a config that never lets
    the optimizer reach NC) fails the check above."""
    out, _ = quick_demo
    config = demo.TASKS['seg'][0].format('-nc')
    opts = options('seg', out) + [
        'train_cfg.max_iters=20', 'param_scheduler.0.end=20',
        'default_hooks.checkpoint.interval=20',
        'optim_wrapper.paramwise_cfg.custom_keys.nc_block.lr_mult=0']
    run_tool('tools/train.py', config, '--work-dir', tmp_path,
             '--cfg-options', *opts)
    assert not nc_decoders_moved(last_ckpt(tmp_path))


def test_pretrain_cache_key_covers_the_stack_and_model_code(monkeypatch):
    """A changed torch, toolbox or model source retrains the mini backbone
    instead of reusing a stale cached one."""
    import importlib.metadata as metadata
    base = demo.stack_key()
    real = metadata.version
    for dist in demo.STACK:
        monkeypatch.setattr(metadata, 'version', lambda d, x=dist: (
            '0.0.0' if d == x else real(d)))
        assert demo.stack_key() != base, dist
    monkeypatch.setattr(metadata, 'version', real)
    monkeypatch.setattr(demo, 'PRETRAIN_CODE', dict(
        demo.PRETRAIN_CODE, mmdet=('mmdet/models/backbones/resnext.py', )))
    assert demo.stack_key() != base
