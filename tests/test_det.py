"""Detection: configs, the C4 plugin shared head, runs through the tools."""
import glob
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner.checkpoint import _load_checkpoint
from toolrun import (
    ROOT,
    coco_options,
    read_test_metrics,
    run_tool,
    train_scalars,
)

import mmnc  # noqa: F401
from mmnc.layers import NCBlock, SEBlock
from mmnc.testing.tiny_data import make_coco_det, make_voc_det

CONFIGS = sorted(glob.glob(str(ROOT / 'configs/faster_rcnn/*.py')))
DET = 'configs/faster_rcnn/'
TINY_COCO = DET + 'faster-rcnn_r101-caffe-c4{}_1xb2-2e_coco-tiny.py'
TINY_VOC = DET + 'faster-rcnn_r101-caffe-c4-nc_1xb2-1e_voc0712-tiny.py'


def build(config: str, **model_changes):
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None  # offline: no pretrained download
    if cfg.model.roi_head.get('shared_head'):
        cfg.model.roi_head.shared_head.init_cfg = None
    cfg.merge_from_dict(model_changes)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg.model)


def expected_blocks(config: str):
    name = Path(config).name
    block = NCBlock if '-nc' in name else SEBlock if '-se' in name else None
    where = ('roi_head.shared_head.layer4' if 'c4' in name else
             'backbone.layer4')
    return block, where


@pytest.mark.parametrize('config', CONFIGS, ids=lambda c: Path(c).stem)
def test_config_builds_with_blocks_where_it_says(config):
    model = build(config)
    block, where = expected_blocks(config)
    found = [n for n, m in model.named_modules()
             if isinstance(m, (NCBlock, SEBlock))]
    if block is None:
        assert found == []
    else:
        assert found == [f'{where}.{i}.{block._abbr_}' for i in range(3)]
        assert all(isinstance(model.get_submodule(n), block) for n in found)
    # stem and stage 1 frozen, as mmdet does; BN in eval mode
    model.train()
    frozen = [model.backbone.conv1, model.backbone.layer1]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert model.backbone.layer2[0].conv1.weight.requires_grad
    assert not model.backbone.layer2[0].bn1.training


def test_real_c4_nc_grid_matches_stage4_input():
    cfg = Config.fromfile(
        ROOT / 'configs/faster_rcnn/faster-rcnn_r101-caffe-c4-nc_1x_coco.py')
    roi = cfg.model.roi_head.bbox_roi_extractor.roi_layer.output_size
    stride = cfg.model.roi_head.shared_head.stride
    (plugin, ) = cfg.model.roi_head.shared_head.plugins
    assert plugin.cfg.grid == roi // stride == 7


def test_pretrained_function_unchanged_at_step0(tmp_path):
    """Same 'ImageNet' checkpoint in: NC/SE-free parts compute the same."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        resnet = MODELS.build(dict(type='ResNet', depth=101, style='caffe'))
    ckpt = tmp_path / 'resnet101_caffe.pth'
    torch.save(resnet.state_dict(), ckpt)
    init = dict(type='Pretrained', checkpoint=str(ckpt))
    models = {}
    for variant in ('', '-nc'):
        cfg = Config.fromfile(ROOT / 'configs/faster_rcnn/'
                              f'faster-rcnn_r101-caffe-c4{variant}_1x_coco.py')
        cfg.model.backbone.init_cfg = init
        cfg.model.roi_head.shared_head.init_cfg = init
        with DefaultScope.overwrite_default_scope('mmdet'):
            models[variant] = MODELS.build(cfg.model)
        models[variant].init_weights()
        models[variant].eval()
    x = torch.randn(1, 3, 64, 64)
    rois = torch.randn(6, 1024, 14, 14)
    with torch.no_grad():
        feats = [m.backbone(x)[0] for m in models.values()]
        heads = [m.roi_head.shared_head(rois) for m in models.values()]
    assert torch.equal(*feats) and torch.equal(*heads)
    assert torch.equal(models['-nc'].backbone.conv1.weight,
                       resnet.conv1.weight)


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('det') / 'coco_tiny'
    make_coco_det(root, num_train=4, num_val=2, size=128)
    return root


def tiny_options(data_root: Path, epochs: int) -> list:
    return coco_options(data_root) + [f'train_cfg.max_epochs={epochs}',
                                      'train_cfg.val_interval=100']


@pytest.mark.parametrize('variant', ['', '-se', '-nc'])
def test_train_test_resume_on_coco_format(variant, coco_root, tmp_path):
    config = TINY_COCO.format(variant)
    work = tmp_path / 'work'
    run_tool('tools/train.py', config, '--work-dir', work, '--cfg-options',
             *tiny_options(coco_root, 1))
    losses = [s['loss'] for s in train_scalars(work) if 'loss' in s]
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file() and (work / 'last_checkpoint').read_text().strip()

    run_tool('tools/test.py', config, ckpt, '--work-dir', tmp_path / 'test',
             '--cfg-options', *tiny_options(coco_root, 1))
    metrics = read_test_metrics(tmp_path / 'test')
    assert {'coco/bbox_mAP', 'coco/bbox_mAP_50'} <= set(metrics)
    assert 0 <= metrics['coco/bbox_mAP'] <= 1

    if variant == '-nc':  # --resume continues from the checkpoint
        proc = run_tool('tools/train.py', config, '--work-dir', work,
                        '--resume', '--cfg-options',
                        *tiny_options(coco_root, 2))
        assert 'resumed epoch: 1' in proc.stdout.replace(', iter', '')
        resumed = _load_checkpoint(str(work / 'epoch_2.pth'))
        assert resumed['meta']['epoch'] == 2 and resumed['meta']['iter'] == 4


def test_train_and_test_on_voc_format(tmp_path):
    root = tmp_path / 'voc_tiny'
    make_voc_det(root, num_train=2, num_val=2, size=128)
    opts = ['train_cfg.val_interval=100']
    for loader in ('train', 'val', 'test'):
        key = f'{loader}_dataloader.dataset'
        if loader == 'train':
            opts += [f'{key}.dataset.datasets.{i}.data_root={root}/VOCdevkit/'
                     for i in (0, 1)]
        else:
            opts.append(f'{key}.data_root={root}/VOCdevkit/')
    work = tmp_path / 'work'
    run_tool('tools/train.py', TINY_VOC, '--work-dir', work, '--cfg-options',
             *opts)
    run_tool('tools/test.py', TINY_VOC, work / 'epoch_1.pth', '--work-dir',
             tmp_path / 'test', '--cfg-options', *opts)
    metrics = read_test_metrics(tmp_path / 'test')
    assert 0 <= metrics['pascal_voc/mAP'] <= 1


USER_CONFIG = """
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)
data_root = '{root}/'
metainfo = dict(classes=('square', 'circle', 'triangle'))
model = dict(
    backbone=dict(init_cfg=None, plugins=[
        dict(cfg=dict(type='NCBlock', grid=4),
             stages=(False, False, False, True), position='after_conv3')]),
    roi_head=dict(bbox_head=dict(num_classes=3)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=50),
                   rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=20)))
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='PackDetInputs')]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=pipeline,
                 ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/')))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=pipeline,
                 ann_file='annotations/instances_val2017.json',
                 data_prefix=dict(img='val2017/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
"""


def test_user_config_through_mmdets_own_tools(coco_root, tmp_path):
    import mmdet
    tools = Path(mmdet.__file__).parent / '.mim' / 'tools'
    config = tmp_path / 'my_faster-rcnn_r50-nc_fpn_1x_coco.py'
    config.write_text(USER_CONFIG.format(root=coco_root))
    work = tmp_path / 'work'
    run_tool(tools / 'train.py', config, '--work-dir', work, cwd=tmp_path)
    state = _load_checkpoint(str(work / 'epoch_1.pth'))['state_dict']
    assert {f'backbone.layer4.{i}.nc_block.decoder.2.weight'
            for i in range(3)} <= set(state)
    run_tool(tools / 'test.py', config, work / 'epoch_1.pth', '--work-dir',
             tmp_path / 'test', cwd=tmp_path)
    assert 0 <= read_test_metrics(tmp_path / 'test')['coco/bbox_mAP'] <= 1
