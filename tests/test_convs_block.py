"""The +Convs control block and its CIFAR configs (C3Net Table 1)."""
import pytest
import torch
from mmcv import cnn
from mmengine.config import Config
from mmengine.registry import DefaultScope
from toolrun import ROOT

from mmnc.analysis.complexity import complexity
from mmnc.layers import ConvsBlock


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=0), 'in_channels'),
    (dict(in_channels=8, expansion=0), 'expansion'),
    (dict(in_channels=8, kernel_size=2), 'kernel_size'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvsBlock(**kwargs)


@pytest.mark.parametrize('kwargs', [dict(), dict(expansion=1, kernel_size=1),
                                    dict(act_cfg=None)])
def test_shape_and_wrong_input(kwargs):
    block = ConvsBlock(8, **kwargs)
    assert block(torch.randn(2, 8, 5, 7)).shape == (2, 8, 5, 7)
    with pytest.raises(ValueError, match=r'\[N, 8, H, W\]'):
        block(torch.randn(2, 9, 5, 7))


@pytest.mark.parametrize('layer_type', ['ConvsBlock', ConvsBlock])
def test_build_plugin_layer(layer_type):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        for postfix in ('', 1, '_a'):
            name, layer = cnn.build_plugin_layer(
                dict(type=layer_type), postfix=postfix, in_channels=16)
            assert name == f'convs_block{postfix}'
            # two 3x3 convs to 4x and back: 72 C^2 weights, and the BNs
            assert sum(p.numel() for p in layer.parameters()) == \
                72 * 16 * 16 + 2 * (64 + 16)


@pytest.mark.parametrize('config, params, flops', [
    # C3Net Table 1: 0.39M / 104.8M and 1.85M / 321.0M; the FLOPs the convs
    # add are 90% of the table's (README, CIFAR)
    ('resnet_cifar/resnet20-convs_1xb128_cifar100.py', '0.39M', 98.3e6),
    ('resnet_cifar/resnet110-convs_1xb128_cifar100.py', '1.85M', 312.3e6),
])
def test_table1_size(config, params, flops):
    cfg = Config.fromfile(str(ROOT / 'configs' / config))
    got = complexity(cfg, None)
    assert f'{got["params"] / 1e6:.2f}M' == params
    assert got['flops'] == pytest.approx(flops, rel=2e-3)
