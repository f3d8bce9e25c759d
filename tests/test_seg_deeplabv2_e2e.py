"""tools/train.py and tools/test.py on the tiny VOC set: baseline, +SE, +NC.

A few iterations on 64x64 crops, then tools/test.py on a 128x128 val image
(slide inference in 64x64 windows) reports mIoU and mAcc, and the predicted
map has the image's size.
"""
import json
import math
import pickle
from pathlib import Path

import pytest
from toolrun import data_root_options, last_log_dir, run_tool

from mmnc.testing.tiny_data import make_voc_seg

CONFIG = 'configs/deeplabv2/deeplabv2_r101-d8{}_1xb2-40i_vocseg-tiny-64x64.py'
ITERS = 2
SIZE = 128


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('vocseg') / 'vocseg_tiny'
    make_voc_seg(root, num_train=2, num_val=1, size=SIZE)
    return root / 'VOCdevkit' / 'VOC2012'


def run(*args: str) -> Path:
    """Run a tool with this Python; return the run's log dir."""
    run_tool(*args)
    return last_log_dir(Path(args[args.index('--work-dir') + 1]))


@pytest.mark.parametrize('variant', ['', '-se', '-nc'])
def test_train_then_test(variant, data_root, tmp_path):
    config = CONFIG.format(variant)
    roots = data_root_options(data_root)
    train_dir = tmp_path / 'train'
    # val_begin past the end: validating is what tools/test.py does below
    log_dir = run('tools/train.py', config, '--work-dir', str(train_dir),
                  '--cfg-options', f'train_cfg.max_iters={ITERS}',
                  'train_cfg.val_begin=1000',
                  'default_hooks.logger.interval=1', *roots)
    lines = (log_dir / 'vis_data' / 'scalars.json').read_text().splitlines()
    losses = [json.loads(line)['loss'] for line in lines]
    assert len(losses) == ITERS and all(map(math.isfinite, losses))
    checkpoint = train_dir / f'iter_{ITERS}.pth'
    assert checkpoint.is_file()

    preds = tmp_path / 'preds.pkl'
    log_dir = run('tools/test.py', config, str(checkpoint), '--work-dir',
                  str(tmp_path / 'test'), '--out', str(preds),
                  '--cfg-options', *roots)
    metrics = json.loads((log_dir / f'{log_dir.name}.json').read_text())
    for key in ('mIoU', 'mAcc'):
        assert 0 <= metrics[key] <= 100, metrics

    (result, ) = pickle.loads(preds.read_bytes())
    assert result['ori_shape'] == (SIZE, SIZE)
    assert result['pred_sem_seg']['data'].shape == (1, SIZE, SIZE)
