"""Every host's checkpoint keys are pinned: a refactor of the host layer
must not move a parameter.

``tests/data/host_state_dicts.json`` holds, for every registered host built
from a pinned recipe below (small widths, NC and SE at every position the
host has, two at one position), the state-dict keys and shapes the code made
when the file was written (before the hosts became ``class`` statements,
issue #29). ``tests/data/host_checkpoints.pth`` holds the seeded, randomised
state dicts of four of them and their outputs on a seeded input: they must
load with ``strict=True`` and give the same outputs.

A renamed plugin (``nc_block3`` -> ``nc_block``), a plugin built for the
wrong channels (a shape), a plugin at another position or a lost one turns
the first test red; a changed forward (plugins unchained, in another order)
turns the second red.

Re-record (only on purpose, from the code whose keys are the reference)::

    PYTHONPATH=$PWD python tests/test_host_state_dicts.py --write
"""
import json
import os
import sys

import pytest
import torch
from mmengine.registry import MODELS, DefaultScope

pytestmark = pytest.mark.usefixtures('one_thread')

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')
KEYS = os.path.join(DATA, 'host_state_dicts.json')
CHECKPOINTS = os.path.join(DATA, 'host_checkpoints.pth')

S1_S4 = (True, False, False, True)
NC = dict(type='NCBlock', grid=2, reduction=2, group_size=8)
SE = dict(type='SEBlock', ratio=2)


def resnet_plugins(positions, num_stages=4):
    """NC and SE at every position (two at one position, chained), then a
    second NC at the last position only in the last stage."""
    stages = S1_S4 if num_stages == 4 else (True, False, True)
    out = []
    for i, position in enumerate(positions):
        out.append(dict(cfg=dict(NC, postfix=f'_{i}'), stages=stages,
                        position=position))
        out.append(dict(cfg=dict(SE, postfix=f'_{i}'), stages=stages,
                        position=position))
    out.append(dict(cfg=dict(NC, postfix='_last'),
                    stages=(False, ) * (num_stages - 1) + (True, ),
                    position=positions[-1]))
    return out


BASIC = ('after_conv1', 'after_conv2')
BOTTLE = ('after_conv1', 'after_conv2', 'after_conv3')
MBV2 = [dict(cfg=dict(NC, postfix=1), position='after_linear',
             stages=(False, ) * 6 + (True, )),
        dict(cfg=dict(SE, postfix=1), position='after_linear',
             stages=(True, ) + (False, ) * 6),
        dict(cfg=dict(SE, postfix=2), position='after_stage',
             stages=(False, True) + (False, ) * 5)]


def _resnet(name, depth, **kw):
    positions = BASIC if depth in (18, 34) else BOTTLE
    return dict(type=f'mmnc.{name}', depth=depth,
                plugins=resnet_plugins(positions), **kw)


DET_SEG_NARROW = dict(base_channels=4, stem_channels=8)
PRE_NARROW = dict(base_channels=4, stem_channels=8)
RECIPES = {
    'mmdet': {
        'ResNet18': _resnet('ResNet', 18, **DET_SEG_NARROW),
        'ResNet50': _resnet('ResNet', 50, **DET_SEG_NARROW),
        'ResNetV1d50': _resnet('ResNetV1d', 50, **DET_SEG_NARROW),
        'ResNeXt50': _resnet('ResNeXt', 50, groups=2, base_width=4,
                             **DET_SEG_NARROW),
        'MobileNetV2': dict(type='mmnc.MobileNetV2', widen_factor=0.25,
                            plugins=MBV2),
    },
    'mmseg': {
        'ResNet18': _resnet('ResNet', 18, **DET_SEG_NARROW),
        'ResNet50': _resnet('ResNet', 50, **DET_SEG_NARROW),
        'ResNetV1c50': _resnet('ResNetV1c', 50, **DET_SEG_NARROW),
        'ResNetV1d50': _resnet('ResNetV1d', 50, **DET_SEG_NARROW),
        'ResNeXt50': _resnet('ResNeXt', 50, groups=2, base_width=4,
                             **DET_SEG_NARROW),
        'MobileNetV2': dict(type='mmnc.MobileNetV2', widen_factor=0.25,
                            plugins=MBV2),
    },
    'mmpretrain': {
        'ResNet18': _resnet('ResNet', 18, **PRE_NARROW),
        'ResNet50': _resnet('ResNet', 50, **PRE_NARROW),
        'ResNetV1c50': _resnet('ResNetV1c', 50, **PRE_NARROW),
        'ResNetV1d50': _resnet('ResNetV1d', 50, **PRE_NARROW),
        'ResNeXt50': _resnet('ResNeXt', 50, groups=2, width_per_group=2,
                             **PRE_NARROW),
        'SEResNet50': _resnet('SEResNet', 50, se_ratio=2, **PRE_NARROW),
        'SEResNeXt50': _resnet('SEResNeXt', 50, groups=2, width_per_group=2,
                               se_ratio=2, **PRE_NARROW),
        'ResNet_CIFAR18': _resnet('ResNet_CIFAR', 18, **PRE_NARROW),
        'MobileNetV2': dict(type='mmnc.MobileNetV2', widen_factor=0.25,
                            plugins=MBV2),
    },
}
CASES = [f'{scope}-{name}' for scope, hosts in RECIPES.items()
         for name in hosts]
SAVED = ('mmdet-ResNet50', 'mmseg-ResNeXt50', 'mmpretrain-SEResNet50',
         'mmpretrain-ResNet18')
"""The hosts whose randomised state dicts and outputs are kept."""


def build(case: str):
    scope, name = case.split('-', 1)
    with DefaultScope.overwrite_default_scope(scope):
        torch.manual_seed(0)
        return MODELS.build(RECIPES[scope][name])


def keys_and_shapes(model) -> list:
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def randomised(model) -> dict:
    """A seeded state dict away from any init (plugins not the identity)."""
    g = torch.Generator().manual_seed(3)
    state = model.state_dict()
    for k, v in state.items():
        if v.is_floating_point():
            if k.endswith('running_var'):
                v.uniform_(0.5, 1.5, generator=g)
            else:
                v.normal_(0, 0.3, generator=g)
    return state


def outputs(model) -> list:
    model.eval()
    torch.manual_seed(4)
    with torch.no_grad():
        out = model(torch.randn(1, 3, 32, 32))
    return list(out) if isinstance(out, (tuple, list)) else [out]


def write() -> None:
    os.makedirs(DATA, exist_ok=True)
    keys = {case: keys_and_shapes(build(case)) for case in CASES}
    with open(KEYS, 'w') as f:
        json.dump(keys, f, indent=0)
        f.write('\n')
    saved = {}
    for case in SAVED:
        model = build(case)
        state = randomised(model)
        model.load_state_dict(state)
        saved[case] = dict(state_dict=state, outputs=outputs(model))
    torch.save(saved, CHECKPOINTS)


@pytest.fixture(scope='module')
def recorded():
    with open(KEYS) as f:
        return json.load(f)


def test_every_registered_host_has_a_recipe():
    from mmnc.registry import _HOSTS
    registered = {f'{scope}-{name}' for name, by_scope in _HOSTS.items()
                  for scope in by_scope}
    pinned = {case.rstrip('0123456789') for case in CASES}
    assert registered <= pinned, registered - pinned


@pytest.mark.parametrize('case', CASES)
def test_state_dict_keys_and_shapes_are_unchanged(case, recorded):
    assert keys_and_shapes(build(case)) == recorded[case]


@pytest.mark.parametrize('case', SAVED)
def test_a_saved_checkpoint_loads_strictly_and_computes_the_same(case):
    saved = torch.load(CHECKPOINTS, weights_only=True)[case]
    model = build(case)
    model.load_state_dict(saved['state_dict'], strict=True)
    for ours, theirs in zip(outputs(model), saved['outputs'],
                            strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


if __name__ == '__main__' and sys.argv[1:] == ['--write']:
    import mmnc  # noqa: F401
    write()
