"""NC/SE inside the hosts' own ResNets, through their plugin lists."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

import mmnc  # noqa: F401
from mmnc.config import check_plugin_config
from mmnc.layers import NCBlock, SEBlock

pytestmark = pytest.mark.classic

STAGE4 = (False, False, False, True)


def resnet(scope: str, plugin: dict = None, position='after_conv3',
           stages=STAGE4, **kwargs):
    cfg = dict(type='ResNet' if scope == 'mmdet' else 'ResNetV1c',
               depth=101, out_indices=(3, ), **kwargs)
    if plugin is not None:
        cfg['plugins'] = [dict(cfg=plugin, stages=stages, position=position)]
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg)


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
@pytest.mark.parametrize('block', [NCBlock, SEBlock])
def test_blocks_sit_in_stage4_after_conv3(scope, block):
    model = resnet(scope, dict(type=block.__name__))
    found = [n for n, m in model.named_modules() if isinstance(m, block)]
    assert found == [f'layer4.{i}.{block._abbr_}' for i in range(3)]
    assert all(model.layer4[i].after_conv3_plugin_names == [block._abbr_]
               for i in range(3))


def test_nc_is_identity_at_init_through_the_host():
    """The Kaiming init_cfg of the host must not undo NC's zero-init."""
    torch.manual_seed(0)
    with_nc = resnet('mmdet', dict(type='NCBlock', grid=4), frozen_stages=1,
                     norm_eval=True)
    with_nc.init_weights()
    decoder_out = with_nc.layer4[0].nc_block.decoder[-1]
    assert decoder_out.weight.abs().sum() == 0
    plain = resnet('mmdet')
    missing, unexpected = plain.load_state_dict(
        with_nc.state_dict(), strict=False)
    assert not missing and all('nc_block' in k for k in unexpected)
    x = torch.randn(2, 3, 64, 64)
    with_nc.eval(), plain.eval()
    with torch.no_grad():
        assert torch.equal(with_nc(x)[0], plain(x)[0])
    # one training step away from init, NC changes the function
    with_nc.layer4[0].nc_block.decoder[-1].bias.data.fill_(0.1)
    with torch.no_grad():
        assert not torch.equal(with_nc(x)[0], plain(x)[0])


def host_config(scope: str, position='after_conv3', stages=STAGE4,
                block='NCBlock', depth=101) -> Config:
    """A user's config with a plugin in an upstream ResNet."""
    return Config(dict(default_scope=scope, model=dict(backbone=dict(
        type='ResNet' if scope == 'mmdet' else 'ResNetV1c', depth=depth,
        plugins=[dict(cfg=dict(type=block), stages=stages,
                      position=position)]))))


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_impossible_position_is_named_by_the_tools(scope):
    with pytest.raises(ValueError, match="'after_conv4'.*after_conv1"):
        check_plugin_config(host_config(scope, position='after_conv4'))


def test_stages_of_the_wrong_length_are_named_by_the_tools():
    with pytest.raises(ValueError, match='4 stages'):
        check_plugin_config(host_config('mmdet', stages=(False, True)))


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_unknown_block_is_named_by_the_tools(scope):
    with pytest.raises(KeyError, match="'SEBlok'. Did you mean 'SEBlock'"):
        check_plugin_config(host_config(scope, block='SEBlok'))


def test_basic_block_resnet_says_what_to_use():
    with pytest.raises(ValueError, match='mmdet.ResNet-18 is made of '
                       "BasicBlocks, which take no plugins.*use "
                       "type='mmnc.ResNet'"):
        check_plugin_config(host_config('mmdet', depth=18))


def test_misspelled_block_argument_is_named():
    with pytest.raises(TypeError, match='gird'):
        resnet('mmdet', dict(type='NCBlock', gird=7))
