"""The toolboxes' own configs with NC and SE added the README's way.

A user's config: ``_base_ = '<toolbox>::<their config>'``, mmnc imported,
the backbone's type prefixed with ``mmnc.`` and a ``plugins`` list. For a
few configs shipped inside mmdet, mmseg and mmpretrain (BasicBlock and
Bottleneck ResNets, a ResNeXt): the whole model builds, each block sits
exactly where the list puts it, and one training step at 64x64 sends a
gradient into every one of them. ``init_weights`` is not called (it would
download the configs' pretrained weights), so every BN keeps gamma = 1, as
in a pretrained network: a zero-initialised last BN would stop the gradient
to a plugin after it.
"""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

import mmnc  # noqa: F401
from mmnc.config import check_plugin_config
from mmnc.layers import NCBlock, SEBlock

pytestmark = pytest.mark.classic

NC = dict(type='NCBlock', grid=4, reduction=4)
SE = dict(type='SEBlock', ratio=16)
ALL = (True, True, True, True)
S4 = (False, False, False, True)
S234 = (False, True, True, True)  # mmdet's configs freeze stage 1

# (base config, mmnc type, {position: (block, stages)})
CONFIGS = [
    ('mmpretrain::resnet/resnet50_8xb32_in1k.py', 'mmnc.ResNet',
     {'after_conv3': (NC, S4), 'after_conv1': (SE, ALL)}),
    ('mmpretrain::resnext/resnext50-32x4d_8xb32_in1k.py', 'mmnc.ResNeXt',
     {'after_conv2': (NC, S4), 'after_conv3': (SE, ALL)}),
    ('mmpretrain::resnet/resnet18_8xb32_in1k.py', 'mmnc.ResNet',
     {'after_conv2': (NC, S4), 'after_conv1': (SE, ALL)}),
    ('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 'mmnc.ResNet',
     {'after_conv3': (NC, S4), 'after_conv2': (SE, S234)}),
    ('mmdet::retinanet/retinanet_r18_fpn_1x_coco.py', 'mmnc.ResNet',
     {'after_conv1': (NC, S4), 'after_conv2': (SE, S234)}),
    ('mmseg::pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py',
     'mmnc.ResNetV1c', {'after_conv3': (NC, S4), 'after_conv1': (SE, ALL)}),
    ('mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
     'mmnc.ResNetV1c', {'after_conv2': (NC, S4), 'after_conv1': (SE, ALL)}),
]

USER_CONFIG = '''_base_ = {base!r}
custom_imports = dict(imports=['mmnc'], allow_failed_imports=False)
model = dict(backbone=dict(type={type!r}, plugins={plugins!r}))
'''


def user_config(tmp_path: Path, base: str, mmnc_type: str,
                plugins: dict) -> Config:
    plugins = [dict(cfg=cfg, stages=stages, position=position)
               for position, (cfg, stages) in plugins.items()]
    path = tmp_path / 'my_config.py'
    path.write_text(USER_CONFIG.format(base=base, type=mmnc_type,
                                       plugins=plugins))
    return Config.fromfile(str(path))


def offline(node):
    """BN for SyncBN (CPU), smaller RoI samples, 64x64 crops."""
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
        if 'max_per_img' in node:
            node['max_per_img'] = min(node['max_per_img'], 64)
        if node.get('type') == 'RandomSampler':
            node['num'] = 32
        if node.get('type') == 'SegDataPreProcessor':
            node['size'] = (64, 64)
        for v in node.values():
            offline(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            offline(v)


def batch(scope: str, num_classes: int) -> dict:
    g = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, 64, 64), generator=g,
                            dtype=torch.uint8) for _ in range(2)]
    if scope == 'mmdet':
        from mmdet.testing import demo_mm_inputs
        data = demo_mm_inputs(2, [(3, 64, 64)] * 2, num_items=[3, 3],
                              num_classes=num_classes)
        data['inputs'] = images
        return data
    if scope == 'mmseg':
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        samples = []
        for _ in range(2):
            sample = SegDataSample(metainfo=dict(img_shape=(64, 64),
                                                 ori_shape=(64, 64)))
            sample.gt_sem_seg = PixelData(data=torch.randint(
                0, num_classes, (1, 64, 64), generator=g))
            samples.append(sample)
        return dict(inputs=images, data_samples=samples)
    from mmpretrain.structures import DataSample
    return dict(inputs=images, data_samples=[
        DataSample().set_gt_label(i) for i in range(2)])


def num_classes(cfg: Config) -> int:
    model = cfg.model
    for key in ('decode_head', 'bbox_head', 'head'):
        if key in model:
            return model[key]['num_classes']
    return model.roi_head.bbox_head.num_classes


@pytest.mark.parametrize('base, mmnc_type, plugins', CONFIGS,
                         ids=[c[0].split('/')[-1][:-3] for c in CONFIGS])
def test_toolbox_config_with_nc_and_se(base, mmnc_type, plugins, tmp_path):
    cfg = user_config(tmp_path, base, mmnc_type, plugins)
    check_plugin_config(cfg)
    offline(cfg.model)
    scope = cfg.default_scope
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    backbone = model.backbone
    assert type(backbone).__module__.startswith('mmnc.models.')

    # exactly where asked: every block of the flagged stages, nowhere else
    for block_type in (NCBlock, SEBlock):
        found = sorted(n for n, m in model.named_modules()
                       if isinstance(m, block_type))
        (position, (_, stages)), = [
            (p, v) for p, v in plugins.items()
            if v[0]['type'] == block_type.__name__]
        expected = sorted(
            f'backbone.{layer}.{i}.{block_type._abbr_}'
            for layer, on in zip(backbone.res_layers, stages) if on
            for i in range(len(getattr(backbone, layer))))
        assert found == expected
        for name in found:
            block = model.get_submodule(name.rsplit('.', 1)[0])
            assert getattr(block, f'{position}_plugin_names') == [
                block_type._abbr_]
            conv = getattr(block, f'conv{position[-1]}')
            assert model.get_submodule(name).in_channels == conv.out_channels

    # one training step reaches every block
    torch.manual_seed(0)
    model.train()
    data = model.data_preprocessor(batch(scope, num_classes(cfg)), True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    loss.backward()
    blocks = [m for m in model.modules() if isinstance(m, (NCBlock, SEBlock))]
    assert blocks and all(
        any(p.grad is not None and p.grad.abs().sum() > 0
            for p in m.parameters()) for m in blocks)
