"""The full-size configs follow the paper's protocol (they cannot be trained
here, so they are checked field by field): what trains, the DeepLab-v2
recipe, mmdet's C4 VOC recipe, checkpoints kept, and the tools' dataset
checks that must not block a real run."""
import hashlib
import io
import json
import os
import pickle
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import mmdet
import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, DefaultScope
from toolrun import ROOT, run_tool

import mmnc  # noqa: F401
from mmnc.config import check_datasets
from mmnc.config import checks as config_checks

CONFIGS = ROOT / 'configs'
DET = sorted(p for p in (CONFIGS / 'faster_rcnn').glob('*.py')
             if 'tiny' not in p.name)
SEG = sorted((CONFIGS / 'deeplabv2').glob('*voc12aug*.py'))
FULL_SIZE = sorted(
    p for p in CONFIGS.rglob('*.py') if '_base_' not in p.parts
    and 'mini' not in p.parts and not re.search(r'tiny|digits', p.name))


def no_download(node):
    """The model cfg without pretrained weights (no network here)."""
    if isinstance(node, dict):
        return {k: None if k == 'init_cfg' else no_download(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [no_download(v) for v in node]
    return node


def build(path: Path):
    cfg = Config.fromfile(str(path))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(ConfigDict(no_download(cfg.model.to_dict())))
    model.train()
    return cfg, model


def norm_layers(model):
    return [(n, m) for n, m in model.named_modules()
            if isinstance(m, torch.nn.modules.batchnorm._NormBase)]


@pytest.mark.parametrize('path', DET + SEG, ids=lambda p: p.stem)
def test_only_stage4_and_the_heads_train_and_every_bn_is_frozen(path):
    """The seed: blocks in stage 4, "fix the lower layers": stem and stages
    1-3 have no trainable parameter; every BN keeps its statistics and its
    affine parameters."""
    cfg, model = build(path)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    stage4 = ('roi_head.shared_head.layer4.' if 'c4' in path.name else
              'backbone.layer4.')
    heads = ('rpn_head.', 'roi_head.bbox_head.', 'neck.', 'decode_head.')
    assert trainable and all(n.startswith((stage4, ) + heads)
                             for n in trainable), trainable
    assert any(n.startswith(stage4) for n in trainable)
    assert not [n for n, p in model.backbone.named_parameters()
                if p.requires_grad and not n.startswith('layer4.')]
    for name, bn in norm_layers(model):
        assert not bn.training, name
        assert not any(p.requires_grad for p in bn.parameters()), name
    blocks = [n for n, m in model.named_modules()
              if type(m).__name__ in ('NCBlock', 'SEBlock')]
    assert all(n.startswith(stage4) for n in blocks)
    assert len(blocks) == (0 if re.search(r'-(nc|se)_', path.name) is None
                           else 3)


def deeplab_optimizer(path: Path):
    cfg, model = build(path)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    group = {id(p): g for g in wrapper.optimizer.param_groups
             for p in g['params']}
    params = dict(model.named_parameters())
    return cfg, {n: (group[id(p)]['lr'], group[id(p)]['weight_decay'])
                 for n, p in params.items() if p.requires_grad}


def test_deeplabv2_recipe():
    """DeepLab-v2: lr 2.5e-4 at batch 10 scaled to batch 16 for the
    backbone, 10x for the ASPP weights, 20x and no decay for its biases, poly
    0.9 to 0 over 20k iterations; x0.5-1.5 scale, 321 crops, no colour
    jitter; whole-image test padded to 513."""
    cfg, groups = deeplab_optimizer(CONFIGS / 'deeplabv2' /
                                    'deeplabv2_r101-d8-nc_4xb4-20k_'
                                    'voc12aug-321x321.py')
    base = 2.5e-4 * 16 / 10
    assert cfg.train_dataloader.batch_size * 4 == 16  # 4xb4 in the name
    assert groups['backbone.layer4.0.conv1.weight'] == pytest.approx(
        (base, 5e-4))
    assert groups['decode_head.conv_seg.0.weight'] == pytest.approx(
        (10 * base, 5e-4))
    assert groups['decode_head.conv_seg.0.bias'] == pytest.approx(
        (20 * base, 0))
    # NC's own biases follow the same Caffe convention
    nc_bias = groups['backbone.layer4.0.nc_block.encoder.0.bias']
    assert nc_bias == pytest.approx((2 * base, 0))
    poly, = cfg.param_scheduler
    assert (poly.type, poly.eta_min, poly.power, poly.end) == (
        'PolyLR', 0, 0.9, 20000) and cfg.train_cfg.max_iters == 20000
    pipeline = {t.type: t for t in cfg.train_pipeline}
    assert pipeline['RandomResize'].ratio_range == (0.5, 1.5)
    assert pipeline['RandomCrop'].crop_size == (321, 321)
    assert 'PhotoMetricDistortion' not in pipeline
    assert cfg.model.test_cfg.mode == 'whole'
    assert cfg.model.data_preprocessor.test_cfg.size == (513, 513)
    assert [t.type for t in cfg.test_dataloader.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'PackSegInputs']


def unscoped(node):
    """A config node without the ``_scope_`` keys that inheriting from
    ``mmdet::`` adds."""
    if isinstance(node, dict):
        return {k: unscoped(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return [unscoped(v) for v in node]
    return node


def pick(cfg, key: str):
    for part in key.split('.'):
        cfg = cfg[int(part)] if part.isdigit() else cfg[part]
    return cfg


@pytest.mark.parametrize('variant', ['', '-se', '-nc'])
def test_voc_c4_configs_use_mmdets_c4_voc_recipe(variant):
    ours = Config.fromfile(str(
        CONFIGS / f'faster_rcnn/faster-rcnn_r101-caffe-c4{variant}_ms-18k_'
        'voc0712.py'))
    theirs = Config.fromfile(str(
        Path(mmdet.__file__).parent / '.mim/configs/pascal_voc/'
        'faster-rcnn_r50-caffe-c4_ms-18k_voc0712.py'))
    for key in ('train_cfg', 'param_scheduler', 'test_dataloader',
                'auto_scale_lr'):
        assert unscoped(ours[key]) == unscoped(theirs[key]), key
    for key in ('optim_wrapper.optimizer', 'model.roi_head.bbox_head',
                'train_dataloader.dataset.datasets.0.pipeline'):
        assert unscoped(pick(ours, key)) == unscoped(pick(theirs, key)), key
    assert ours.model.backbone.depth == 101


@pytest.mark.parametrize('path', FULL_SIZE,
                         ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_full_size_configs_keep_few_checkpoints_and_report_the_last(path):
    """No 'best' checkpoint: every full-size config evaluates on the split
    it reports (no separate validation split), so choosing the best on it
    would report a maximum over evaluations."""
    hook = Config.fromfile(str(path)).default_hooks.checkpoint
    assert hook.type == 'AtomicCheckpointHook'
    assert 0 < hook.max_keep_ckpts <= 3
    assert hook.get('save_best') is None


PLUGGED = [p for p in FULL_SIZE + sorted((CONFIGS / 'mini').glob('*.py'))
           if re.search(r'-(nc|se|convs)_', p.name)]


def plugin_params(model) -> dict:
    """``{name: (param, the host conv weight beside the block)}`` for every
    parameter of every NC/SE block."""
    params = dict(model.named_parameters())
    found = {}
    for name, module in model.named_modules():
        if type(module).__name__ not in ('NCBlock', 'SEBlock', 'ConvsBlock'):
            continue
        host = name.rsplit('.', 1)[0] + '.'
        sibling = next(p for n, p in params.items() if p.dim() == 4
                       and n.startswith(host) and not n.startswith(name))
        for pname, p in module.named_parameters():
            found[f'{name}.{pname}'] = (p, sibling)
    return found


@pytest.mark.parametrize('path', PLUGGED,
                         ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_every_nc_and_se_parameter_trains_at_the_hosts_lr(path):
    """Every parameter of every NC/SE (and +Convs) block (not just some stage-4
    parameter) is trainable after ``train()`` (which re-freezes frozen
    stages), is in the optimizer mmengine builds from the config, and gets
    a positive lr: its host conv's for weights, that or the config's bias
    convention (DeepLab-v2's 2x) for biases."""
    cfg, model = build(path)
    found = plugin_params(model)
    assert found
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    group = {id(p): g for g in wrapper.optimizer.param_groups
             for p in g['params']}
    for name, (p, sibling) in found.items():
        assert p.requires_grad, name
        assert id(p) in group, f'{name} is not in the optimizer'
        lr, host_lr = group[id(p)]['lr'], group[id(sibling)]['lr']
        assert lr > 0, name
        if name.endswith('.weight'):
            assert lr == pytest.approx(host_lr), name
        else:
            assert lr in (pytest.approx(host_lr), pytest.approx(2 * host_lr))


def test_large_annotation_file_is_not_parsed_by_the_check(
        tmp_path, monkeypatch):
    """A 50 MB COCO file: the check reads its ends only (the dataset parses
    it anyway); a truncated one is still refused."""
    root = tmp_path / 'coco'
    (root / 'annotations').mkdir(parents=True)
    ann = root / 'annotations' / 'instances_train2017.json'
    filler = [dict(id=i, file_name=f'{i:012d}.jpg', width=640, height=480)
              for i in range(700_000)]
    ann.write_text(json.dumps(dict(images=filler, annotations=[],
                                   categories=[])))
    assert ann.stat().st_size > 50 << 20
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='CocoDataset', data_root=str(root),
        ann_file='annotations/instances_train2017.json'))))

    def refuse(*args, **kwargs):
        raise AssertionError('the whole file was parsed')

    monkeypatch.setattr(config_checks.json, 'load', refuse)
    check_datasets(cfg, 'cfg.py')
    with open(ann, 'r+b') as f:  # an interrupted download
        f.truncate(ann.stat().st_size // 2)
    with pytest.raises(ValueError, match='not valid JSON.*does not start and '
                       'end like a JSON object'):
        check_datasets(cfg, 'cfg.py')


FAKE_CIFAR100 = r'''
import runpy, sys
from mmpretrain.datasets import CIFAR100
archive, md5s = sys.argv[1], sys.argv[2].split(',')
CIFAR100.url = 'file://' + archive  # a local stand-in for the download
CIFAR100.tgz_md5 = md5s[0]
CIFAR100.train_list = [['train', md5s[1]]]
CIFAR100.test_list = [['test', md5s[2]]]
CIFAR100.meta['md5'] = md5s[3]
sys.argv = sys.argv[3:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def fake_cifar100(path: Path) -> str:
    """A CIFAR-100 archive in the real format (64 images a split); return
    the md5 sums of the archive, train, test and meta files (the real files
    are Python 2 pickles, whose keys load as str)."""
    rng = np.random.default_rng(0)
    files = {}
    for split in ('train', 'test'):
        files[split] = pickle.dumps({
            'data': rng.integers(0, 256, (64, 3072), dtype=np.uint8),
            'fine_labels': list(rng.integers(0, 100, 64))})
    files['meta'] = pickle.dumps(
        {'fine_label_names': [f'c{i}' for i in range(100)]})
    with tarfile.open(path, 'w:gz') as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f'cifar-100-python/{name}')
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    md5 = [hashlib.md5(path.read_bytes()).hexdigest()]
    md5 += [hashlib.md5(files[k]).hexdigest()
            for k in ('train', 'test', 'meta')]
    return ','.join(md5)


def test_cifar_config_starts_with_no_data_when_the_dataset_downloads(
        tmp_path):
    """data/cifar100 does not exist yet: mmpretrain's CIFAR100 downloads it
    (here from a local stand-in), so tools/train.py must not refuse the
    run; with download=False the missing folder is still named."""
    archive = tmp_path / 'cifar-100-python.tar.gz'
    md5s = fake_cifar100(archive)
    root = tmp_path / 'cifar100'
    options = [f'{k}_dataloader.dataset.data_root={root}'
               for k in ('train', 'val', 'test')] + [
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=32',
        'default_hooks.checkpoint.save_best=None']
    config = 'configs/resnet_cifar/resnet20-nc_1xb128_cifar100.py'
    run_tool('-c', FAKE_CIFAR100, archive, md5s, 'tools/train.py', config,
             '--work-dir', tmp_path / 'work', '--cfg-options', *options,
             env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert (root / 'cifar-100-python' / 'train').is_file()
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir',
         str(tmp_path / 'w2'), '--cfg-options', *[
             o.replace(str(root), str(tmp_path / 'none')) for o in options],
         'train_dataloader.dataset.download=False'],
        cwd=ROOT, text=True, capture_output=True)
    assert proc.returncode != 0
    assert ('train_dataloader.dataset.data_root does not exist: '
            f"'{tmp_path / 'none'}'") in proc.stderr
