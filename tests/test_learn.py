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


@pytest.mark.parametrize('task', ['det', 'seg'])
def test_learn_control_with_lr_0_stays_below(quick_demo, task, tmp_path):
    out, _ = quick_demo
    key, threshold = THRESHOLDS[task]
    config = demo.TASKS[task][0].format('')
    work = tmp_path / 'lr0'
    opts = options(task, out) + ['optim_wrapper.optimizer.lr=0']
    run_tool('tools/train.py', config, '--work-dir', work, '--cfg-options',
             *opts)
    ckpt = (work / 'last_checkpoint').read_text().strip()
    run_tool('tools/test.py', config, ckpt, '--work-dir', work,
             '--cfg-options', *opts)
    assert read_test_metrics(work)[key] < threshold


def test_learn_demo_prints_the_insertion_checks_and_the_comparison(
        quick_demo):
    out, stdout = quick_demo
    checks = re.findall(r'insertion check: (.*)\(', stdout)
    assert len(checks) == 2 and all(
        'equal: NC starts as the identity' in c for c in checks), checks
    for task in ('resnet20_1xb32-5e_digits',
                 'faster-rcnn_r50-w16-c4_1xb4-6e_coco-shapes',
                 'deeplabv2_r50-w16-d8_1xb8-800i_voc-shapes-128x128'):
        table = stdout.split(f'### {task} ')[1].split('###')[0]
        rows = [r for r in table.splitlines() if r.startswith('| ')]
        assert [r.split('|')[1].strip() for r in rows[2:]] == [
            'baseline', '+SE', '+NC'], table
        assert '—' not in table and '+NC vs +SE' in table
    assert (out / 'compare' / 'compare.png').read_bytes()[:4] == b'\x89PNG'
    assert 'missing:' not in stdout


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
        quick_demo, task, block, tmp_path):
    """tools/test.py of the +NC config with a broken block on the trained
    baseline checkpoint does not give the baseline's metrics (with NCBlock it
    does: the demo's own insertion check, asserted above)."""
    out, _ = quick_demo
    pattern, _ = demo.TASKS[task]
    base = task_runs(out, task)
    base = next(w for w in base if not re.search(r'-(nc|se)_', w.parent.name))
    ckpt = (base / 'last_checkpoint').read_text().strip()
    opts = options(task, out)
    plugins = ('model.roi_head.shared_head.plugins' if task == 'det'
               else 'model.backbone.plugins')
    opts.append(f'{plugins}.0.cfg.type={block}')
    run_tool('-c', WITH_BROKEN_BLOCKS, 'tools/test.py', pattern.format('-nc'),
             ckpt, '--work-dir', tmp_path, '--cfg-options', *opts)
    got = demo.numbers(read_test_metrics(tmp_path))
    expected = demo.numbers(read_test_metrics(base))
    assert got != expected, BROKEN[block]
