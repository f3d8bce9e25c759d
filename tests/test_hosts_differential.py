"""Every mmnc host against its upstream class, call by call.

For each host a table of constructor calls runs against upstream's class
and mmnc's (:func:`mmnc.registry.get_host`). A valid call gives the same
state-dict keys in both and, with plugins off, the same weights after a
seeded build and ``init_weights()`` and the same outputs. An invalid call
(an argument upstream asserts or raises on) raises in both, and mmnc's
exception is an instance of the class upstream raised, so code written
against upstream (``except AssertionError``) catches mmnc's.

A host that checks ``plugins`` with a plain ``ValueError`` (upstream:
``AssertionError``), that lets through a call upstream refuses, that moves
a parameter, or whose blocks compute otherwise with no plugins turns a row
red.
"""
import importlib

import pytest
import torch
from mmengine.registry import DefaultScope

import mmnc  # noqa: F401  (registers the hosts)
from mmnc.errors import ArgumentError
from mmnc.registry import get_host

pytestmark = pytest.mark.usefixtures('one_thread')

UPSTREAM = {
    'mmdet': 'mmdet.models.backbones',
    'mmseg': 'mmseg.models.backbones',
    'mmpretrain': 'mmpretrain.models.backbones',
}
HOSTS = {
    'mmdet': ('ResNet', 'ResNetV1d', 'ResNeXt', 'MobileNetV2'),
    'mmseg': ('ResNet', 'ResNetV1c', 'ResNetV1d', 'ResNeXt', 'MobileNetV2'),
    'mmpretrain': ('ResNet', 'ResNetV1c', 'ResNetV1d', 'ResNeXt', 'SEResNet',
                   'SEResNeXt', 'ResNet_CIFAR', 'MobileNetV2'),
}
NARROW = dict(base_channels=4, stem_channels=8)
S4 = (False, False, False, True)
ONE_PLUGIN = [dict(cfg=dict(type='ContextBlock', ratio=1 / 4), stages=S4,
                   position='after_conv3')]


def resnet_calls(scope: str, name: str):
    """(id, args, kwargs, valid) rows for a ResNet-family host."""
    bottleneck = name not in ('ResNet', 'ResNetV1c', 'ResNetV1d',
                              'ResNet_CIFAR')
    depth = 50 if bottleneck else 18
    # ResNetV1c/V1d take keywords only; mmdet's and mmseg's ResNeXt start
    # with groups: upstream refuses a positional depth there, and so must we
    positional = not (name in ('ResNetV1c', 'ResNetV1d') or (
        name == 'ResNeXt' and scope != 'mmpretrain'))
    rows = [
        ('positional depth', (depth, ), NARROW, positional),
        ('three stages', (), dict(NARROW, depth=depth, num_stages=3,
                                  strides=(1, 2, 2), dilations=(1, 1, 1),
                                  out_indices=(0, 2)), True),
        ('bad depth', (42, ), NARROW, False),
        ('five stages', (depth, ), dict(NARROW, num_stages=5), False),
        ('strides of the wrong length', (depth, ),
         dict(NARROW, strides=(1, 2)), False),
        ('out_indices past the stages', (depth, ),
         dict(NARROW, num_stages=2, strides=(1, 2), dilations=(1, 1),
              out_indices=(3, )), False),
        # asserted by Bottlenecks only
        ('unknown style', (50, ), dict(NARROW, style='keras'), False),
    ]
    if scope in ('mmdet', 'mmseg'):  # mmpretrain's ResNets take no plugins
        d50 = dict(NARROW, depth=50)
        rows += [
            ('one plugin', (), dict(d50, plugins=ONE_PLUGIN), True),
            ('stages of the wrong length', (), dict(d50, plugins=[
                dict(ONE_PLUGIN[0], stages=(True, False))]), False),
            ('unknown position', (), dict(d50, plugins=[
                dict(ONE_PLUGIN[0], position='after_conv4')]), False),
        ]
    return rows


def mobilenet_calls(scope: str):
    return [
        ('defaults', (), dict(widen_factor=0.25), True),
        ('positional widen_factor', (0.25, ), {}, True),
        ('out_indices past the stages', (), dict(out_indices=(8, )), False),
        ('frozen_stages past the stages', (), dict(frozen_stages=9), False),
    ]


ROWS = [
    pytest.param(scope, name, args, kwargs, valid,
                 id=f'{scope}-{name}-{row_id}')
    for scope, names in HOSTS.items() for name in names
    for row_id, args, kwargs, valid in (
        mobilenet_calls(scope) if name == 'MobileNetV2'
        else resnet_calls(scope, name))
]


def build(cls, scope, args, kwargs):
    with DefaultScope.overwrite_default_scope(scope):
        torch.manual_seed(0)
        model = cls(*args, **kwargs)
        torch.manual_seed(1)
        model.init_weights()
    model.eval()  # mmdet's ResNet.train returns None
    return model


def outputs(model):
    torch.manual_seed(2)
    with torch.no_grad():
        out = model(torch.randn(1, 3, 32, 32))
    return list(out) if isinstance(out, (tuple, list)) else [out]


@pytest.mark.parametrize('scope, name, args, kwargs, valid', ROWS)
def test_mmnc_host_accepts_and_refuses_as_upstream(scope, name, args, kwargs,
                                                   valid):
    upstream = getattr(importlib.import_module(UPSTREAM[scope]), name)
    ours = get_host(name, scope)
    assert issubclass(ours, upstream)
    if not valid:
        with pytest.raises(Exception) as theirs:
            build(upstream, scope, args, kwargs)
        with pytest.raises(Exception) as mine:
            build(ours, scope, args, kwargs)
        assert isinstance(mine.value, theirs.type), (mine.value, theirs.type)
        return
    theirs = build(upstream, scope, args, kwargs)
    mine = build(ours, scope, args, kwargs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    if kwargs.get('plugins'):
        return  # their init differs where upstream's block init does
    for key, value in theirs.state_dict().items():
        assert torch.equal(mine.state_dict()[key], value), key
    for a, b in zip(outputs(mine), outputs(theirs), strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_plugin_errors_are_argument_errors_with_the_fix(scope):
    """What upstream asserts on, mmnc refuses with an ArgumentError (a
    ValueError and an AssertionError) whose message names the fix."""
    resnet = get_host('ResNet', scope)
    with pytest.raises(ArgumentError, match=r'stages=\(True, False\) but '
                       r'the host has 4 stages; give one flag each'):
        resnet(50, plugins=[dict(ONE_PLUGIN[0], stages=(True, False))])
    with pytest.raises(ArgumentError, match=r"'after_conv4', which this "
                       r"host does not have; use one of \('after_conv1'"):
        resnet(18, plugins=[dict(ONE_PLUGIN[0], position='after_conv4')])
    assert issubclass(ArgumentError, ValueError)
    assert issubclass(ArgumentError, AssertionError)
