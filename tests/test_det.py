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
    read_test_metrics,
    run_tool,
)

import mmnc  # noqa: F401
from mmnc.datasets.synthetic import make_coco_det, make_voc_det
from mmnc.layers import NCBlock, SEBlock

CONFIGS = sorted(glob.glob(str(ROOT / 'configs/faster_rcnn/*.py')))
DET = 'configs/faster_rcnn/'
TINY_COCO = DET + 'faster-rcnn_r101-caffe-c4{}_1xb2-2e_coco-tiny.py'
TINY_VOC = DET + 'faster-rcnn_r101-caffe-c4-nc_1xb2-2i_voc0712-tiny.py'


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


def test_voc_recipe_trains_and_tests(tmp_path):
    """mmdet's iteration-based C4 VOC recipe (07+12 concatenated) through
    the tools, on the tiny VOC-format set."""
    root = tmp_path / 'voc_tiny'
    make_voc_det(root, num_train=2, num_val=2, size=128)
    opts = [f'train_dataloader.dataset.datasets.{i}.data_root='
            f'{root}/VOCdevkit/' for i in (0, 1)] + [
        f'{k}_dataloader.dataset.data_root={root}/VOCdevkit/'
        for k in ('val', 'test')]
    work = tmp_path / 'work'
    run_tool('tools/train.py', TINY_VOC, '--work-dir', work, '--cfg-options',
             *opts)
    assert _load_checkpoint(str(work / 'iter_2.pth'))['meta']['iter'] == 2
    run_tool('tools/test.py', TINY_VOC, work / 'iter_2.pth', '--work-dir',
             tmp_path / 'test', '--cfg-options', *opts)
    assert 'pascal_voc/mAP' in read_test_metrics(tmp_path / 'test')


USER_CONFIG = """
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)
data_root = '{root}/'
metainfo = dict(classes=('square', 'circle', 'triangle'))
model = dict(
    backbone=dict(init_cfg=None, plugins=[
        dict(cfg=dict(type='NCBlock', grid=4, reduction=2),
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
    decoders = [state[f'backbone.layer4.{i}.nc_block.decoder.2.weight']
                for i in range(3)]
    # zero at init; trained through mmdet's own loop
    assert all(d.abs().sum() > 0 for d in decoders)
    run_tool(tools / 'test.py', config, work / 'epoch_1.pth', '--work-dir',
             tmp_path / 'test', cwd=tmp_path)
    assert {'coco/bbox_mAP', 'coco/bbox_mAP_50'} <= set(
        read_test_metrics(tmp_path / 'test'))
