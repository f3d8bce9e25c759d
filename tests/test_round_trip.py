"""Train -> checkpoint -> --resume -> test, per toolbox, with NC inside.

The full-size configs on the tiny sets (a few iterations), through
tools/train.py and tools/test.py: the checkpoint holds NC's weights, a
resumed run continues from its iteration and keeps training them, and
tools/test.py (the toolbox's ``load_from``) evaluates the resumed
checkpoint. Runs in both environments (``classic``).
"""
import os
import pickle
from pathlib import Path

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint
from toolrun import (
    coco_options,
    data_root_options,
    read_test_metrics,
    run_tool,
)

from mmnc.datasets.synthetic import make_coco_det, make_digits, make_voc_seg

pytestmark = pytest.mark.classic
ENV = dict(os.environ, OMP_NUM_THREADS='1')


def nc_weights(ckpt: Path) -> dict:
    state = _load_checkpoint(str(ckpt))['state_dict']
    return {k: v for k, v in state.items() if 'nc_block' in k}


def round_trip(tmp_path: Path, config: str, opts: list, first: str,
               second: str, extend: list) -> dict:
    """Train to ``first``, resume to ``second``; test it; check the NC
    weights moved after the resume. Returns the test metrics."""
    work = tmp_path / 'work'
    run_tool('tools/train.py', config, '--work-dir', work, '--cfg-options',
             *opts, env=ENV)
    proc = run_tool('tools/train.py', config, '--work-dir', work,
                    '--resume', '--cfg-options', *opts, *extend, env=ENV)
    assert 'resumed' in proc.stdout
    assert (work / 'last_checkpoint').read_text() == str(work / second)
    a, b = nc_weights(work / first), nc_weights(work / second)
    assert a and a.keys() == b.keys()
    assert any(not torch.equal(a[k], b[k]) for k in a)  # kept training
    out = tmp_path / 'preds.pkl'
    run_tool('tools/test.py', config, work / second, '--work-dir',
             tmp_path / 'test', '--out', out, '--cfg-options', *opts,
             env=ENV)
    with open(out, 'rb') as f:
        assert len(pickle.load(f)) > 0
    return read_test_metrics(tmp_path / 'test')


def test_classification(tmp_path):
    root = tmp_path / 'digits'
    make_digits(root)
    metrics = round_trip(
        tmp_path, 'configs/resnet_cifar/resnet20-nc_1xb32-5e_digits.py',
        data_root_options(root) + ['train_cfg.max_epochs=1'],
        'epoch_1.pth', 'epoch_2.pth', ['train_cfg.max_epochs=2'])
    assert metrics['accuracy/top1'] > 50  # the trained weights were tested


def test_detection(tmp_path):
    root = tmp_path / 'coco_tiny'
    make_coco_det(root, num_train=4, num_val=2, size=128)
    metrics = round_trip(
        tmp_path,
        'configs/faster_rcnn/faster-rcnn_r101-caffe-c4-nc_1xb2-2e_coco-tiny'
        '.py', coco_options(root) + ['train_cfg.max_epochs=1'],
        'epoch_1.pth', 'epoch_2.pth', ['train_cfg.max_epochs=2'])
    assert {'coco/bbox_mAP', 'coco/bbox_mAP_50'} <= set(metrics)


def test_segmentation(tmp_path):
    root = tmp_path / 'vocseg_tiny'
    make_voc_seg(root, num_train=4, num_val=2, size=64)
    opts = data_root_options(root / 'VOCdevkit' / 'VOC2012') + [
        'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2']
    metrics = round_trip(
        tmp_path,
        'configs/deeplabv2/deeplabv2_r101-d8-nc_1xb2-40i_vocseg-tiny-64x64.py',
        opts, 'iter_2.pth', 'iter_4.pth', ['train_cfg.max_iters=4'])
    assert {'mIoU', 'aAcc'} <= set(metrics)
