"""Every ``mmnc.`` host is a drop-in for its upstream class.

Same signature (``inspect.signature``: upstream's parameters in upstream's
order, kinds and defaults, plus ``plugins`` keyword-only where upstream's
own parameters lack it), and, without plugins, the same behaviour for the
calls the toolboxes' own backbone tests make (mmdet, mmseg and mmpretrain
``tests/test_models/test_backbones/test_resnet.py``, ``test_resnext.py``,
``test_mobilenet_v2.py``): the same exception type where upstream refuses
a call, else the same weights after a seeded build and ``init_weights()``,
the same frozen parameters and BN modes after ``train()``, and the same
outputs in train and eval mode, positional calls included.
"""
import inspect

import pytest
import torch

import mmnc.models  # noqa: F401  (registers the hosts)
from mmnc.models.det.plugin_res_layer import PluginResLayer
from mmnc.models.drop_in import upstream_class
from mmnc.registry import _HOSTS, get_host

pytestmark = [pytest.mark.classic, pytest.mark.usefixtures('one_thread')]

ALL_HOSTS = [cls for by_scope in _HOSTS.values() for cls in by_scope.values()]




def host_id(cls: type) -> str:
    return f'{cls.__module__.split(".")[2]}-{cls.__name__}'


@pytest.mark.parametrize('host', ALL_HOSTS + [PluginResLayer], ids=host_id)
def test_signature_is_upstreams_plus_plugins(host):
    upstream = upstream_class(host)
    assert upstream.__name__ == host.__name__ or host is PluginResLayer
    theirs = inspect.signature(upstream).parameters
    ours = inspect.signature(host).parameters
    assert [p for p in ours.values() if p.name in theirs] == \
        list(theirs.values())
    extras = {n: p for n, p in ours.items() if n not in theirs}
    expected = {'plugins'} - set(theirs)
    if host is PluginResLayer:
        expected |= {'base_channels'}
    assert set(extras) == expected
    assert all(p.kind is p.KEYWORD_ONLY for p in extras.values())
    assert all(extras[n].default is None for n in extras if n == 'plugins')


# (toolbox, class name, args, kwargs): the calls of upstream's tests, on
# narrow networks; some of them refused by upstream on purpose
CALLS = {
    'mmdet': [
        ('ResNet', (20, ), {}),
        ('ResNet', (50, ), dict(num_stages=0)),
        ('ResNet', (50, ), dict(num_stages=5)),
        ('ResNet', (50, ), dict(strides=(1, ), dilations=(1, 1),
                                num_stages=3)),
        ('ResNet', (50, ), dict(pretrained=0)),
        ('ResNet', (50, ), dict(style='tensorflow')),
        ('ResNet', (50, ), dict(stage_with_dcn=(True, ), dcn=dict(
            type='DCN', deform_groups=1, fallback_on_stride=False))),
        ('ResNet', (18, ), dict(base_channels=2)),
        ('ResNet', (50, 3, 3, 2), {}),
        ('ResNet', (50, ), dict(base_channels=1, norm_eval=True)),
        ('ResNet', (50, ), dict(base_channels=1, frozen_stages=1)),
        ('ResNet', (18, ), dict(base_channels=2, with_cp=True)),
        ('ResNet', (34, ), dict(base_channels=2, style='caffe',
                                strides=(1, 2, 2, 1),
                                dilations=(1, 1, 1, 2))),
        ('ResNet', (50, ), dict(base_channels=2, out_indices=(0, 2),
                                zero_init_residual=False)),
        ('ResNet', (50, ), dict(base_channels=4, norm_cfg=dict(
            type='GN', num_groups=2, requires_grad=True))),
        ('ResNetV1d', (50, ), {}),
        ('ResNetV1d', (), dict(depth=50, base_channels=2, frozen_stages=1)),
        ('ResNetV1d', (), dict(depth=50, stem_channels=6, base_channels=2)),
        ('ResNeXt', (4, 2), dict(depth=50, base_channels=4)),
        ('ResNeXt', (), dict(depth=101, groups=2, base_width=2,
                             base_channels=2, frozen_stages=2)),
        ('MobileNetV2', (0.25, ), {}),
        ('MobileNetV2', (0.25, (1, 2, 7)), dict(frozen_stages=2)),
        ('MobileNetV2', (1.0, ), dict(frozen_stages=8)),
        ('MobileNetV2', (0.25, ), dict(norm_eval=True, with_cp=True)),
    ],
    'mmseg': [
        ('ResNet', (20, ), {}),
        ('ResNet', (50, ), dict(num_stages=0)),
        ('ResNet', (50, ), dict(pretrained=0)),
        ('ResNet', (50, ), dict(style='tensorflow')),
        ('ResNet', (18, ), dict(base_channels=2, stem_channels=2)),
        ('ResNet', (50, 3, 4, 2), {}),
        ('ResNet', (50, ), dict(base_channels=1, stem_channels=2,
                                norm_eval=True, frozen_stages=1)),
        ('ResNet', (50, ), dict(base_channels=2, stem_channels=2,
                                strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                                multi_grid=(1, 2, 4),
                                contract_dilation=True)),
        ('ResNetV1c', (50, ), {}),
        ('ResNetV1c', (), dict(depth=50, base_channels=2, stem_channels=4,
                               frozen_stages=1)),
        ('ResNetV1d', (), dict(depth=18, base_channels=2, stem_channels=4)),
        ('ResNeXt', (4, 2), dict(depth=50, base_channels=4,
                                 stem_channels=4)),
        ('MobileNetV2', (0.25, ), {}),
        ('MobileNetV2', (0.25, (1, 2, 2, 2, 1, 2, 1)), dict(
            dilations=(1, 1, 1, 2, 2, 4, 4), frozen_stages=2)),
        ('MobileNetV2', (1.0, ), dict(frozen_stages=8)),
    ],
    'mmpretrain': [
        ('ResNet', (20, ), {}),
        ('ResNet', (50, ), dict(num_stages=0)),
        ('ResNet', (18, ), dict(base_channels=2, stem_channels=2)),
        ('ResNet', (50, 3, 4, 2), {}),
        ('ResNet', (50, ), dict(base_channels=2, stem_channels=4,
                                expansion=2, out_indices=(0, 1, 2, 3),
                                frozen_stages=1, norm_eval=True)),
        ('ResNet', (50, ), dict(base_channels=2, stem_channels=4,
                                drop_path_rate=0.2, with_cp=True)),
        ('ResNetV1c', (50, ), {}),
        ('ResNetV1c', (), dict(depth=50, base_channels=2, stem_channels=4)),
        ('ResNetV1d', (), dict(depth=34, base_channels=2, stem_channels=4,
                               frozen_stages=2)),
        ('ResNeXt', (50, 2, 2), dict(base_channels=4, stem_channels=4)),
        ('SEResNet', (50, 4), dict(base_channels=4, stem_channels=4)),
        ('SEResNeXt', (50, 2, 2), dict(base_channels=4, stem_channels=4)),
        ('ResNet_CIFAR', (18, ), dict(base_channels=2, stem_channels=2)),
        ('ResNet_CIFAR', (18, True), {}),
        ('MobileNetV2', (0.25, ), {}),
        ('MobileNetV2', (0.25, (1, 7)), dict(frozen_stages=3,
                                              norm_eval=True)),
        ('MobileNetV2', (1.0, ), dict(frozen_stages=8)),
    ],
}
CASES = [(scope, *call) for scope, calls in CALLS.items() for call in calls]


def call_id(case) -> str:
    scope, name, args, kwargs = case
    return f'{scope}-{name}{args}-{",".join(kwargs)}'


def behaviour(cls: type, args: tuple, kwargs: dict, x: torch.Tensor):
    """The exception type of a refused call, else what the built network
    is and does."""
    torch.manual_seed(0)
    try:
        model = cls(*args, **kwargs)
    except Exception as e:  # upstream's own refusals, compared by type
        return type(e)
    model.init_weights()
    model.train()
    seen = dict(
        weights=model.state_dict(),
        trainable=[(n, p.requires_grad) for n, p in model.named_parameters()],
        modes=[(n, m.training) for n, m in model.named_modules()])
    with torch.no_grad():
        torch.manual_seed(1)
        seen['train'] = model(x)
        model.eval()
        seen['eval'] = model(x)
    return seen


def assert_same(a, b) -> None:
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            assert_same(u, v)
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize('case', CASES, ids=[call_id(c) for c in CASES])
def test_behaves_as_upstream_without_plugins(case):
    scope, name, args, kwargs = case
    host = get_host(name, scope)
    x = torch.randn(2, 3, 32, 32)
    theirs = behaviour(upstream_class(host), args, kwargs, x)
    ours = behaviour(host, args, kwargs, x)
    if isinstance(theirs, type):
        assert ours is theirs
    else:
        assert_same(ours, theirs)


def test_the_issue_call():
    """``ResNet(18, base_channels=2)`` raised a TypeError in mmnc's mmdet
    host (no positional arguments)."""
    from mmdet.models.backbones import ResNet
    model = get_host('ResNet', 'mmdet')(18, base_channels=2)
    assert isinstance(model, ResNet) and model.depth == 18


def test_c4_head_behaves_as_mmdets_reslayer():
    from mmdet.models.roi_heads.shared_heads import ResLayer
    x = torch.randn(2, 1024, 4, 4)
    assert_same(behaviour(PluginResLayer, (50, 3, 2), {}, x),
                behaviour(ResLayer, (50, 3, 2), {}, x))
