"""The DeepLab-v2 configs build offline and put NC/SE where they say."""
import functools
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.nn.modules.batchnorm import _BatchNorm

import mmnc  # noqa: F401
from mmnc.layers import NCBlock, SEBlock
from mmnc.models.seg import ASPPv2Head

CONFIGS = Path(__file__).parents[1] / 'configs' / 'deeplabv2'
REAL = 'deeplabv2_r101-d8{}_4xb4-20k_voc12aug-321x321'
TINY = 'deeplabv2_r101-d8{}_1xb2-40i_vocseg-tiny-64x64'
VARIANTS = {'': None, '-se': SEBlock, '-nc': NCBlock}
NAMES = [base.format(v) for base in (REAL, TINY) for v in VARIANTS]


def load(name: str) -> Config:
    return Config.fromfile(CONFIGS / f'{name}.py')


@functools.cache
def build(name: str) -> torch.nn.Module:
    """The config's model, offline: BN for SyncBN, no pretrained weights.

    Built once per config and shared (tests set train/eval and the test
    mode they need); ``init_weights`` is skipped: it takes seconds and the
    structure does not depend on it.
    """
    cfg = load(name)
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=False)
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


def test_every_config_is_tested():
    assert sorted(p.stem for p in CONFIGS.glob('*.py')) == sorted(NAMES)


@pytest.mark.parametrize('name', NAMES)
def test_config_settings(name):
    cfg = load(name)
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports == dict(imports=['mmnc'],
                                      allow_failed_imports=False)
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.depth) == ('ResNetV1c', 101)
    assert backbone.dilations == (1, 1, 2, 4)
    assert backbone.strides == (1, 2, 1, 1)
    assert (backbone.frozen_stages, backbone.norm_eval) == (3, True)
    head = cfg.model.decode_head
    assert (head.type, head.dilations) == ('ASPPv2Head', (6, 12, 18, 24))
    assert cfg.model.get('auxiliary_head') is None
    if name.endswith('321x321'):
        assert backbone.norm_cfg.type == 'SyncBN'
        assert backbone.init_cfg == dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')
        crop, test_size = (321, 321), (513, 513)
        assert [d.data_prefix.seg_map_path for d in
                cfg.train_dataloader.dataset.datasets] == [
                    'SegmentationClass', 'SegmentationClassAug']
    else:
        assert backbone.norm_cfg.type == 'BN'
        assert backbone.init_cfg is None
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        crop, test_size = (64, 64), (128, 128)
    pipelines = [d.pipeline for d in cfg.train_dataloader.dataset.get(
        'datasets', [cfg.train_dataloader.dataset])]
    assert all(t.crop_size == crop for p in pipelines for t in p
               if t.type == 'RandomCrop')
    assert cfg.model.data_preprocessor.size == crop
    # DeepLab-v2 tests on the whole image, padded
    assert cfg.model.test_cfg.mode == 'whole'
    assert cfg.model.data_preprocessor.test_cfg.size == test_size


@pytest.mark.parametrize('variant', ['-se', '-nc'])
def test_tiny_blocks_are_the_real_ones(variant):
    real = load(REAL.format(variant)).model.backbone.plugins
    tiny = load(TINY.format(variant)).model.backbone.plugins
    if variant == '-nc':
        # the grid follows stage 4's size at the crop: 321 -> 41, 64 -> 8
        assert (real[0].cfg.grid, tiny[0].cfg.grid) == (41, 8)
        real[0].cfg.grid = tiny[0].cfg.grid
    assert real == tiny


@pytest.mark.parametrize('name', NAMES)
def test_builds_offline_with_blocks_in_stage4_and_lower_layers_fixed(name):
    model = build(name).train()
    backbone = model.backbone
    block = VARIANTS[name.split('_')[1][len('r101-d8'):]]
    assert isinstance(model.decode_head, ASPPv2Head)

    # NC / SE: one per bottleneck of stage 4, after conv3, nowhere else
    found = [n for n, m in model.named_modules()
             if isinstance(m, (NCBlock, SEBlock))]
    if block is None:
        assert found == []
    else:
        assert found == [f'backbone.layer4.{i}.{block._abbr_}'
                         for i in range(3)]
        for layer in backbone.layer4:
            assert isinstance(getattr(layer, block._abbr_), block)
            assert layer.after_conv3_plugin_names == [block._abbr_]
            assert not layer.after_conv1_plugin_names
            assert not layer.after_conv2_plugin_names
            assert getattr(layer, block._abbr_).in_channels == 2048

    # stem and stages 1-3 fixed; stage 4's convs and the head trained; BN
    # frozen (statistics and affine parameters)
    fixed = [backbone.stem] + [backbone.layer1, backbone.layer2,
                               backbone.layer3]
    assert all(not p.requires_grad for m in fixed for p in m.parameters())
    assert all(not m.training for f in fixed for m in f.modules())
    assert all(m.weight.requires_grad for m in backbone.layer4.modules()
               if isinstance(m, torch.nn.Conv2d))
    assert all(p.requires_grad for p in model.decode_head.parameters())
    assert all(not m.training and not m.weight.requires_grad
               for m in model.modules() if isinstance(m, _BatchNorm))


def test_nc_sits_after_bn3_before_the_residual_sum_and_grid_fits_stage4():
    """At the 321x321 crop stage 4 is 41x41: the NC grid, no resampling."""
    model = build(REAL.format('-nc')).eval()
    bottleneck = model.backbone.layer4[0]
    seen = {}
    hooks = [
        bottleneck.bn3.register_forward_hook(
            lambda m, i, o: seen.update(bn3=o)),
        bottleneck.nc_block.register_forward_hook(
            lambda m, i, o: seen.update(nc_in=i[0]))
    ]
    try:
        with torch.no_grad():
            feats = model.extract_feat(torch.randn(1, 3, 321, 321))
    finally:
        for hook in hooks:
            hook.remove()
    assert seen['nc_in'] is seen['bn3']
    assert feats[-1].shape == (1, 2048, 41, 41)
    assert bottleneck.nc_block.grid == (41, 41)


def predict(model, img: torch.Tensor, mode: str):
    model.test_cfg.mode = mode
    shape = tuple(img.shape[-2:])
    sample = SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape))
    with torch.no_grad():
        return model.predict(img, [sample])[0].pred_sem_seg.data


@pytest.mark.parametrize(
    'name', [REAL.format('-nc'), TINY.format('-nc'), TINY.format('-se')])
def test_inference_at_a_size_other_than_the_crop(name):
    """Whole and slide inference on an odd-sized image (NC resamples)."""
    torch.manual_seed(0)
    model = build(name).eval()
    img = torch.randn(1, 3, 50, 83)
    model.test_cfg.update(crop_size=(32, 32), stride=(21, 21))  # for slide
    for mode in ('whole', 'slide'):
        assert predict(model, img, mode).shape == (1, 50, 83)


def test_one_step_reaches_every_trainable_parameter():
    """No dead parameter (DDP would fail on one): every one gets a grad."""
    torch.manual_seed(0)
    model = build(TINY.format('-nc')).train()
    inputs = torch.randn(2, 3, 64, 64)
    samples = []
    for _ in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 21, (1, 64, 64)))
        samples.append(sample)
    losses = model.loss(inputs, samples)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    trained = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert trained and all(p.grad is not None for p in trained.values())
    assert {n.split('.')[0] for n in trained} == {'backbone', 'decode_head'}
    assert all(n.startswith('backbone.layer4.') for n in trained
               if n.startswith('backbone'))
