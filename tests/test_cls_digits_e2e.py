"""tools/train.py then tools/test.py on the UCI digits: baseline, +SE, +NC.

Two epochs of ResNet-20 (16x16 inputs) on the image-folder digits set, then
tools/test.py on its val split must be far above the 10% of chance. The
tools run single-threaded: on a small shared CPU, OpenMP threads that spin
while waiting for a core make these tiny convolutions up to 20x slower.
"""
import math
import os
from pathlib import Path

import pytest
from toolrun import (
    data_root_options,
    read_test_metrics,
    run_tool,
    train_scalars,
)

from mmnc.testing.tiny_data import make_digits

CONFIG = 'configs/resnet_cifar/resnet20{}_1xb32-5e_digits.py'
EPOCHS = 2
ENV = dict(os.environ, OMP_NUM_THREADS='1')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('cls') / 'digits'
    make_digits(root)
    return root


@pytest.mark.parametrize('variant', ['', '-se', '-nc'])
def test_train_then_test(variant, data_root, tmp_path):
    config = CONFIG.format(variant)
    roots = data_root_options(data_root)
    train_dir = tmp_path / 'train'
    run_tool('tools/train.py', config, '--work-dir', train_dir,
             '--cfg-options', f'train_cfg.max_epochs={EPOCHS}', *roots,
             env=ENV)
    losses = [s['loss'] for s in train_scalars(train_dir) if 'loss' in s]
    assert losses and all(map(math.isfinite, losses))
    assert losses[-1] < losses[0]
    checkpoint = train_dir / f'epoch_{EPOCHS}.pth'
    assert checkpoint.is_file()

    test_dir = tmp_path / 'test'
    run_tool('tools/test.py', config, checkpoint, '--work-dir', test_dir,
             '--cfg-options', *roots, env=ENV)
    assert read_test_metrics(test_dir)['accuracy/top1'] > 50
