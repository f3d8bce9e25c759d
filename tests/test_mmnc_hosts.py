"""``type='mmnc.X'``: each toolbox's ResNets and MobileNet-v2 with plugins.

For every host: with no plugins, a seeded build and ``init_weights()`` give
upstream's weights exactly (zero-init of the last BN included); with NC at
every position the host has, a checkpoint of the upstream class loads with
only NC's keys missing, and the network computes the checkpoint's function.
Then the scope resolution and its errors, mmseg's two plugin bugs (right in
mmnc's hosts, refused with the fix in upstream's), ``with_cp`` and drop path.
"""
import pytest
import torch
from mmengine.registry import MODELS, DefaultScope
from torch.nn.modules.batchnorm import _BatchNorm

import mmnc.registry
from mmnc.config import check_plugin_config
from mmnc.layers import NCBlock, SEBlock
from mmnc.registry import get_host

pytestmark = [pytest.mark.classic, pytest.mark.usefixtures('one_thread')]

S1_S4 = (True, False, False, True)
MBV2_POSITIONS = {'after_linear': (False, ) * 6 + (True, ),
                  'after_stage': (True, ) + (False, ) * 6}




def build(scope: str, cfg: dict):
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg)


def outputs(model, side: int = 64):
    torch.manual_seed(1)
    out = model(torch.randn(2, 3, side, side))
    return out if isinstance(out, tuple) else (out, )


def nc_at_every_position(cfg: dict, scope: str) -> list:
    """One NC per position the host has (postfix = position's number)."""
    host = get_host(cfg['type'], scope)
    if 'MobileNetV2' in cfg['type']:
        return [dict(cfg=dict(type='NCBlock', grid=4, postfix=i),
                     stages=stages, position=p)
                for i, (p, stages) in enumerate(MBV2_POSITIONS.items())]
    positions = host.arch_settings[cfg['depth']][0].plugin_positions
    return [dict(cfg=dict(type='NCBlock', grid=4, postfix=p[-1]),
                 stages=S1_S4, position=p) for p in positions]


def like_pretrained(model) -> None:
    """BN statistics and affines away from their init (a zero-initialised
    last BN would hide what a plugin after it does)."""
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0, 0.1, generator=g)
                m.running_mean.normal_(0, 0.1, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)


HOSTS = [
    ('mmdet', dict(type='ResNet', depth=18)),
    ('mmdet', dict(type='ResNet', depth=50)),
    ('mmdet', dict(type='ResNeXt', depth=50, groups=32, base_width=4)),
    ('mmdet', dict(type='MobileNetV2')),
    ('mmseg', dict(type='ResNetV1c', depth=18)),
    ('mmseg', dict(type='ResNetV1c', depth=50)),
    ('mmseg', dict(type='ResNeXt', depth=50, groups=32, base_width=4)),
    ('mmseg', dict(type='MobileNetV2')),
    ('mmpretrain', dict(type='ResNet', depth=18)),
    ('mmpretrain', dict(type='ResNetV1d', depth=50)),
    ('mmpretrain', dict(type='ResNeXt', depth=50, groups=32,
                        width_per_group=4)),
    ('mmpretrain', dict(type='SEResNet', depth=50)),
    ('mmpretrain', dict(type='ResNet_CIFAR', depth=18)),
    ('mmpretrain', dict(type='MobileNetV2')),
]


@pytest.mark.parametrize('scope, cfg', HOSTS,
                         ids=[f'{s}-{c["type"]}{c.get("depth", "")}'
                              for s, c in HOSTS])
def test_upstream_weights_and_checkpoints(scope, cfg, tmp_path):
    side = 32 if 'CIFAR' in cfg['type'] else 64
    torch.manual_seed(0)
    upstream = build(scope, cfg)
    upstream.init_weights()
    torch.manual_seed(0)
    plain = build(scope, dict(cfg, type=f'mmnc.{cfg["type"]}'))
    assert type(plain) is not type(upstream)
    assert isinstance(plain, type(upstream))
    plain.init_weights()
    theirs, ours = upstream.state_dict(), plain.state_dict()
    assert list(ours) == list(theirs)
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs)

    like_pretrained(upstream)
    path = tmp_path / 'upstream.pth'
    torch.save(upstream.state_dict(), path)
    with_nc = build(scope, dict(
        cfg, type=f'mmnc.{cfg["type"]}',
        plugins=nc_at_every_position(cfg, scope),
        init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    with_nc.init_weights()  # the host's init, then the checkpoint
    ncs = {n for n, m in with_nc.named_modules() if isinstance(m, NCBlock)}
    assert ncs
    missing, unexpected = with_nc.load_state_dict(
        torch.load(path), strict=False)
    assert not unexpected
    assert set(missing) == {k for k in with_nc.state_dict()
                            if k.rsplit('.', 3)[0] in ncs}
    upstream.eval(), with_nc.eval()
    with torch.no_grad():
        for a, b in zip(outputs(upstream, side), outputs(with_nc, side)):
            assert torch.equal(a, b)


def test_mmnc_type_resolves_by_default_scope():
    from mmdet.models.backbones import ResNet as DetResNet
    from mmpretrain.models.backbones import ResNet as PretrainResNet
    from mmseg.models.backbones import ResNet as SegResNet
    for scope, upstream in (('mmdet', DetResNet), ('mmseg', SegResNet),
                            ('mmpretrain', PretrainResNet)):
        model = build(scope, dict(type='mmnc.ResNet', depth=18))
        assert type(model).__bases__[-1] is upstream
        assert type(model).__module__.startswith('mmnc.models.')
    # mmengine's own switch for one module: _scope_
    model = build('mmdet', dict(type='mmnc.ResNet', depth=18,
                                _scope_='mmpretrain'))
    assert isinstance(model, PretrainResNet)


@pytest.mark.parametrize('scope, cfg, match', [
    (None, dict(type='mmnc.ResNet', depth=18),
     "current default scope, one of mmdet, mmseg, mmpretrain.*is None"),
    ('mmengine', dict(type='mmnc.ResNet', depth=18),
     "default_scope='mmdet'"),
    ('mmdet', dict(type='mmnc.ResNetV1c', depth=18),
     'mmnc.ResNetV1c exists for mmseg, mmpretrain, not for mmdet'),
])
def test_mmnc_type_outside_its_toolboxes_says_what_to_do(scope, cfg, match,
                                                         monkeypatch):
    if scope is None:  # another test may have left a default scope behind
        monkeypatch.setattr(mmnc.registry, 'current_scope', lambda: None)
    with pytest.raises(ValueError, match=match):
        build(scope, cfg)


@pytest.mark.parametrize('scope, cfg, position', [
    ('mmdet', dict(type='mmnc.ResNet', depth=18), 'after_conv3'),
    ('mmseg', dict(type='mmnc.ResNetV1c', depth=34), 'after_conv3'),
    ('mmpretrain', dict(type='mmnc.ResNet', depth=18), 'after_conv3'),
    ('mmpretrain', dict(type='mmnc.ResNeXt', depth=50), 'before_stage'),
    ('mmdet', dict(type='mmnc.MobileNetV2'), 'after_conv2'),
])
def test_a_position_the_host_lacks_names_the_ones_it_has(scope, cfg,
                                                         position):
    cfg = dict(cfg, plugins=[dict(cfg=dict(type='SEBlock'),
                                  position=position)])
    with pytest.raises(ValueError, match=rf"'{position}'.*'after_conv1'"
                       if 'ResN' in cfg['type'] else rf"'{position}'"):
        build(scope, cfg)


def test_stages_of_the_wrong_length_are_named():
    with pytest.raises(ValueError, match='stages=.*4 stages'):
        build('mmpretrain', dict(type='mmnc.ResNet', depth=18, plugins=[
            dict(cfg=dict(type='SEBlock'), stages=(True, ),
                 position='after_conv1')]))


# mmseg's two plugin bugs ------------------------------------------------

S4 = (False, False, False, True)


def test_mmseg_resnext_plugins_get_the_grouped_width():
    """mmseg's own ResNeXt builds them for ``planes`` (64 ... 512)."""
    model = build('mmseg', dict(
        type='mmnc.ResNeXt', depth=50, groups=32, base_width=4, plugins=[
            dict(cfg=dict(type='SEBlock', postfix=i), position=p)
            for i, p in enumerate(('after_conv1', 'after_conv2',
                                   'after_conv3'))]))
    for block in model.modules():
        if hasattr(block, 'after_conv1_plugin_names'):
            assert block.se_block0.in_channels == block.conv1.out_channels
            assert block.se_block1.in_channels == block.conv2.out_channels
            assert block.se_block2.in_channels == block.conv3.out_channels
    assert model.layer1[0].se_block0.in_channels == 128  # 32 groups x 4
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32))[-1].shape == (1, 2048, 1, 1)


def test_mmseg_plugins_at_one_position_chain():
    model = build('mmseg', dict(type='mmnc.ResNetV1c', depth=50, plugins=[
        dict(cfg=dict(type=t, postfix=1), stages=S4, position='after_conv3')
        for t in ('SEBlock', 'NCBlock')]))
    block = model.layer4[0]
    assert block.after_conv3_plugin_names == ['se_block1', 'nc_block1']
    seen = {}
    for name in block.after_conv3_plugin_names:
        getattr(block, name).register_forward_hook(
            lambda m, args, out, name=name: seen.update(
                {name: (args[0], out)}))
    model.eval()
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    se_in, se_out = seen['se_block1']
    nc_in, _ = seen['nc_block1']
    assert torch.equal(nc_in, se_out) and not torch.equal(nc_in, se_in)


MMSEG_UNCHAINED = dict(type='ResNetV1c', depth=50, plugins=[
    dict(cfg=dict(type='ContextBlock', ratio=1 / 4), stages=S4,
         position='after_conv3'),
    dict(cfg=dict(type='NCBlock'), stages=S4, position='after_conv3')])
MMSEG_NARROW = dict(type='ResNeXt', depth=50, groups=32, base_width=4,
                    plugins=[dict(cfg=dict(type='SEBlock'), stages=S4,
                                  position='after_conv2')])


@pytest.mark.parametrize('cfg, match', [
    (MMSEG_UNCHAINED, r"2 plugins at 'after_conv3' of mmseg's ResNetV1c "
     r"\(ContextBlock, NCBlock\) would not chain.*type='mmnc.ResNetV1c'"),
    (MMSEG_NARROW, r"SEBlock at 'after_conv2' of mmseg's grouped ResNeXt "
     r"would be built for 512 channels where the block has 1024.*"
     r"type='mmnc.ResNeXt'"),
])
def test_mmseg_upstream_bugs_are_refused_with_the_fix(cfg, match):
    """By mmnc's tools before building, and by the blocks when mmseg's own
    ResNet builds them (mmseg's tools); mmnc's hosts take the same list."""
    with pytest.raises(ValueError, match=match):
        check_plugin_config(mmseg_config(cfg))
    with pytest.raises(ValueError, match=match):
        build('mmseg', cfg)
    check_plugin_config(mmseg_config(dict(cfg, type=f'mmnc.{cfg["type"]}')))
    build('mmseg', dict(cfg, type=f'mmnc.{cfg["type"]}'))


@pytest.mark.parametrize('cfg, match', [
    (MMSEG_UNCHAINED, r"2 plugins at 'after_conv3' of mmseg's ResNetV1c "
     r"\(ContextBlock, NCBlock\) would not chain.*type='mmnc.ResNetV1c'"),
    (MMSEG_NARROW, r"SEBlock at 'after_conv2' of mmseg's grouped ResNeXt "
     r"would be built for 512 channels where the block has 1024.*"
     r"type='mmnc.ResNeXt'"),
])
def test_a_built_model_is_checked_by_walking_its_modules(cfg, match):
    """Block classes given as classes skip the registry (and its entry in
    mmseg's scope): the walk over the built model still finds them."""
    from mmnc.layers import NCBlock, SEBlock
    from mmnc.models.seg import check_mmseg_model
    classes = dict(NCBlock=NCBlock, SEBlock=SEBlock)
    plugins = [dict(p, cfg=dict(p['cfg'], type=classes.get(
        p['cfg']['type'], p['cfg']['type']))) for p in cfg['plugins']]
    model = build('mmseg', dict(cfg, plugins=plugins))
    with pytest.raises(ValueError, match=match):
        check_mmseg_model(model)
    check_mmseg_model(build('mmseg', dict(cfg, type=f'mmnc.{cfg["type"]}')))


def test_mmseg_scope_entry_builds_the_block_itself():
    """The guard's entry in mmseg's scope returns mmnc's own block class."""
    from mmnc.layers import NCBlock
    block = build('mmseg', dict(type='NCBlock', in_channels=8))
    assert type(block) is NCBlock


@pytest.mark.parametrize('cfg', [
    # one plugin per position, the grouped width's own position, or no
    # mmnc block involved: mmseg's behaviour, not mmnc's business
    dict(MMSEG_UNCHAINED, plugins=[
        dict(cfg=dict(type='NCBlock'), stages=S4, position='after_conv3'),
        dict(cfg=dict(type='SEBlock'), stages=S4, position='after_conv2')]),
    dict(MMSEG_NARROW, plugins=[dict(cfg=dict(type='SEBlock'), stages=S4,
                                     position='after_conv3')]),
    dict(MMSEG_NARROW, groups=1, plugins=MMSEG_NARROW['plugins']),
    dict(MMSEG_UNCHAINED, plugins=[
        dict(cfg=dict(type='ContextBlock', ratio=1 / 4, postfix=i),
             stages=S4, position='after_conv3') for i in (1, 2)]),
])
def test_mmseg_upstream_hosts_build_where_they_compute_what_is_asked(cfg):
    check_plugin_config(mmseg_config(cfg))
    build('mmseg', cfg)


def test_mmseg_guard_warns_when_it_cannot_read_mmseg(monkeypatch):
    """If mmseg's locals change (another mmseg), the guard says that it
    cannot check instead of passing silently."""
    from mmnc.models.seg import upstream_guard

    def unreadable(*args):
        raise KeyError('planes')

    monkeypatch.setattr(upstream_guard, 'mmseg_resnext_width', unreadable)
    with pytest.warns(UserWarning, match=r"cannot read the grouped "
                      r"ResNeXt's width in mmseg .*type='mmnc"):
        build('mmseg', MMSEG_NARROW)


def mmseg_config(backbone: dict):
    from mmengine.config import Config
    return Config(dict(default_scope='mmseg', model=dict(backbone=backbone)))


def test_upstream_hosts_without_plugins_name_the_mmnc_host():
    from mmengine.config import Config
    cfg = Config(dict(default_scope='mmpretrain', model=dict(backbone=dict(
        type='ResNeXt', depth=50, plugins=[
            dict(cfg=dict(type='NCBlock'), position='after_conv3')]))))
    with pytest.raises(ValueError, match="mmpretrain.ResNeXt takes no "
                       "plugins; use type='mmnc.ResNeXt'"):
        check_plugin_config(cfg)
    cfg.model.backbone.type = 'mmnc.ResNeXt'
    check_plugin_config(cfg)


# mmpretrain's block options ---------------------------------------------


def test_with_cp_and_drop_path_keep_plugins_in_the_graph():
    """``with_cp`` recomputes the block (plugins included) in backward and
    gives the same gradients; drop path acts on the branch after the
    plugins; the gradient reaches every plugin."""
    plugins = [dict(cfg=dict(type='NCBlock', grid=2, reduction=2), stages=S4,
                    position='after_conv3'),
               dict(cfg=dict(type='SEBlock'), position='after_conv2')]
    grads = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        model = build('mmpretrain', dict(
            type='mmnc.ResNet', depth=50, plugins=plugins, with_cp=with_cp,
            drop_path_rate=0.1))
        model.init_weights()
        like_pretrained(model)  # bn3 is zero-initialised: no gradient
        model.train()
        torch.manual_seed(1)
        model(torch.randn(2, 3, 32, 32))[-1].square().mean().backward()
        blocks = [m for m in model.modules()
                  if isinstance(m, (NCBlock, SEBlock))]
        assert len(blocks) == 16 + 3
        assert all(m.fc2.weight.grad.abs().sum() > 0 for m in blocks
                   if isinstance(m, SEBlock))
        assert all(m.decoder[-1].weight.grad.abs().sum() > 0 for m in blocks
                   if isinstance(m, NCBlock))
        grads.append([p.grad for p in model.parameters()])
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(*grads))
