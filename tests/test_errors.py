"""Bad input gets an error that names the problem and the fix.

Through tools/train.py where that is how a user meets it; by building the
user's config in-process where that is cheaper. The dataset checks run
before tools/train.py makes the work dir: a run they stop leaves none.
"""
import os
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from toolrun import ROOT, coco_options, data_root_options, run_tool

import mmnc  # noqa: F401
from mmnc.config import check_datasets
from mmnc.datasets.synthetic import make_coco_det, make_digits
from mmnc.layers import se_block

CLS_NC = 'configs/resnet_cifar/resnet20-nc_1xb32-5e_digits.py'
DET = 'configs/faster_rcnn/faster-rcnn_r101-caffe-c4_1xb2-2e_coco-tiny.py'
ENV = dict(os.environ, OMP_NUM_THREADS='1')


@pytest.fixture(scope='module')
def digits(tmp_path_factory) -> list:
    """--cfg-options that point every loader at a fresh digits set."""
    root = tmp_path_factory.mktemp('errors') / 'digits'
    make_digits(root)
    return data_root_options(root)


def train_fails(tmp_path: Path, config: str, *options: str,
                env: dict = ENV) -> str:
    """tools/train.py must fail; return its output."""
    return run_tool('tools/train.py', config, '--work-dir',
                    tmp_path / 'work', '--cfg-options', *options, ok=False,
                    env=env).stdout


@pytest.mark.parametrize('option,error', [
    ('model.backbone.plugins.0.cfg.type=NCBlok',
     "KeyError: \"Unknown plugin type 'NCBlok'. Did you mean 'NCBlock'? "
     'Known plugin blocks: NCBlock, SEBlock, ContextBlock'),
    ('model.backbone.plugins.0.cfg.gird=7',
     "'zero_init': False, 'gird': 7}: NCBlock.__init__() got an unexpected "
     "keyword argument 'gird'"),
], ids=['unknown-type', 'misspelled-argument'])
def test_unknown_block_or_argument_through_train_py(option, error, digits,
                                                    tmp_path):
    assert error in train_fails(tmp_path, CLS_NC, *digits, option)
    assert not (tmp_path / 'work').exists()  # no half-made work dir


@pytest.mark.parametrize('key,value,match', [
    ('plugins.0.position', 'after_conv3',
     "CifarResNet: plugin 'NCBlock' is at position 'after_conv3', which "
     "this host does not have; use one of \\('before_stage', "),
    ('plugins.0.cfg.grid', 0, 'NCBlock: grid must be a positive int or a '),
    ('plugins.0.cfg.reduction', 300,
     r'NCBlock: reduction must be an int in \[1, 256\] for a 16x16 grid'),
    # stage 3 takes 32 channels: 32 // 10 = 3 groups, which 32 is not
    ('plugins.1.cfg.group_size', 10,
     'NCBlock: 32 channels cannot be split into 3 equal groups'),
], ids=['position', 'grid', 'reduction', 'groups'])
def test_impossible_plugin_in_the_users_config(key, value, match):
    cfg = Config.fromfile(ROOT / CLS_NC)
    cfg.merge_from_dict({f'model.backbone.{key}': value})
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(ValueError, match=match):
            MODELS.build(cfg.model)


def test_missing_dataset_path_and_no_work_dir(digits, tmp_path):
    missing = tmp_path / 'no_such_dir'
    out = train_fails(tmp_path, CLS_NC, *digits,
                      f'train_dataloader.dataset.data_root={missing}')
    assert (f"FileNotFoundError: train_dataloader.dataset.data_root does not "
            f"exist: '{missing}'") in out
    assert '--cfg-options train_dataloader.dataset.data_root=' in out
    assert not (tmp_path / 'work').exists()


@pytest.fixture(scope='module')
def coco(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('errors') / 'coco'
    make_coco_det(root, num_train=2, num_val=1, size=64)
    return root


def test_truncated_annotation_file_through_train_py(coco, tmp_path):
    ann = tmp_path / 'instances_train2017.json'
    ann.write_text((coco / 'annotations/instances_train2017.json'
                    ).read_text()[:300])
    out = train_fails(tmp_path, DET, *coco_options(coco),
                      f'train_dataloader.dataset.ann_file={ann}')
    assert (f"ValueError: train_dataloader.dataset.ann_file is not valid "
            f"JSON: '{ann}' (") in out
    assert 'empty, truncated or not JSON: make or download it again' in out
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize('content,error', [
    ('', 'is not valid JSON'),
    ('[]', 'is not a COCO annotation file'),
    ('{"images": []}', 'is not a COCO annotation file'),
], ids=['empty', 'list', 'no-categories'])
def test_empty_or_non_coco_annotation_file(content, error, coco, tmp_path):
    ann = tmp_path / 'instances_val2017.json'
    ann.write_text(content)
    cfg = Config.fromfile(ROOT / DET)
    cfg.merge_from_dict(dict(o.split('=') for o in coco_options(coco)))
    cfg.test_dataloader.dataset.ann_file = str(ann)
    checkpoint = tmp_path / 'model.pth'
    checkpoint.touch()
    with pytest.raises(ValueError, match=f'test_dataloader.dataset.ann_file'
                       f' {error}: {str(ann)!r}'):
        check_datasets(cfg, DET, str(checkpoint))


def test_nan_input_is_named_with_mmnc_debug_through_train_py(
        digits, tmp_path):
    """std 0 makes the images Inf: NaN from the stem into the first NC."""
    out = train_fails(tmp_path, CLS_NC, *digits,
                      'data_preprocessor.std=[0,0,0]',
                      env=dict(ENV, MMNC_DEBUG='1'))
    assert re.search(
        r'FloatingPointError: NCBlock\(in_channels=16\): [1-9]\d* of 131072 '
        r'input values \(shape \[32, 16, 16, 16\]\) are NaN or Inf', out)


def test_nan_check_of_se_and_off_by_default(monkeypatch):
    x = torch.ones(2, 8, 3, 3)
    x[0, 1, :2, 0] = float('nan')
    x[1, 7, 2, 2] = float('inf')
    block = se_block.SEBlock(8, ratio=4)
    assert not torch.isfinite(block(x)).all()  # MMNC_DEBUG unset: no check
    monkeypatch.setattr(se_block, 'DEBUG', True)
    with pytest.raises(FloatingPointError,
                       match=r'SEBlock\(in_channels=8\): 3 of 144 input '):
        block(x)


def test_json_check_accepts_the_made_sets(coco):
    cfg = Config.fromfile(ROOT / DET)
    cfg.merge_from_dict(dict(o.split('=') for o in coco_options(coco)))
    check_datasets(cfg, DET)
