"""Every host's checkpoint keys and forward are pinned: a refactor of the
host layer must not move a parameter or change what a checkpoint computes.

``tests/data/host_state_dicts.json.gz`` was written by the code before the
hosts became ``class`` statements (issue #29, main at 9fb9f0b). For every
registered host and mmnc's other plugin hosts, built from a pinned recipe
below (small widths, NC and SE at every position the host has, two at one
position), it holds the state-dict keys and shapes, and the outputs on a
seeded input after loading a state dict made from those keys alone
(:func:`recorded_weights`, numpy's legacy generator seeded by each key, so
the same on every torch): that is a checkpoint of the previous main, made
from a pinned recipe, and it must load with ``strict=True``.

A renamed plugin (``nc_block_0`` -> ``nc_block``), a plugin built for the
wrong channels (a shape), a plugin at another position or a lost one turns
the keys red; a changed forward (plugins unchained, in another order, at
another place in the block) turns the outputs red.

Re-record (only on purpose, from the code whose keys are the reference)::

    PYTHONPATH=$PWD python tests/test_host_state_dicts.py --write
"""
import gzip
import json
import os
import sys
import zlib

import numpy as np
import pytest
import torch
from mmengine.registry import MODELS, DefaultScope

import mmnc  # noqa: F401  (CifarResNet, PluginResLayer: root registry)

pytestmark = pytest.mark.usefixtures('one_thread')

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')
RECORD = os.path.join(DATA, 'host_state_dicts.json.gz')

S1_S4 = (True, False, False, True)
NC = dict(type='NCBlock', grid=2, reduction=2, group_size=8)
SE = dict(type='SEBlock', ratio=2)


def resnet_plugins(positions, stages=S1_S4):
    """NC and SE at every position (two at one position, chained), then a
    second NC at the last position only in the last stage."""
    out = []
    for i, position in enumerate(positions):
        out.append(dict(cfg=dict(NC, postfix=f'_{i}'), stages=stages,
                        position=position))
        out.append(dict(cfg=dict(SE, postfix=f'_{i}'), stages=stages,
                        position=position))
    out.append(dict(cfg=dict(NC, postfix='_last'),
                    stages=(False, ) * (len(stages) - 1) + (True, ),
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


NARROW = dict(base_channels=4, stem_channels=8)
IMAGE = (1, 3, 32, 32)
RECIPES = {
    'mmdet': {
        'ResNet18': _resnet('ResNet', 18, **NARROW),
        'ResNet50': _resnet('ResNet', 50, **NARROW),
        'ResNetV1d50': _resnet('ResNetV1d', 50, **NARROW),
        'ResNeXt50': _resnet('ResNeXt', 50, groups=2, base_width=4,
                             **NARROW),
        'MobileNetV2': dict(type='mmnc.MobileNetV2', widen_factor=0.25,
                            plugins=MBV2),
        # the C4 RoI head: stage 4 of a narrowed ResNet-50, on stage 3's
        # output (64 channels)
        'PluginResLayer50': dict(
            type='PluginResLayer', depth=50, base_channels=4,
            plugins=resnet_plugins(BOTTLE, (False, False, False, True))),
    },
    'mmseg': {
        'ResNet18': _resnet('ResNet', 18, **NARROW),
        'ResNet50': _resnet('ResNet', 50, **NARROW),
        'ResNetV1c50': _resnet('ResNetV1c', 50, **NARROW),
        'ResNetV1d50': _resnet('ResNetV1d', 50, **NARROW),
        'ResNeXt50': _resnet('ResNeXt', 50, groups=2, base_width=4,
                             **NARROW),
        'MobileNetV2': dict(type='mmnc.MobileNetV2', widen_factor=0.25,
                            plugins=MBV2),
    },
    'mmpretrain': {
        'ResNet18': _resnet('ResNet', 18, **NARROW),
        'ResNet50': _resnet('ResNet', 50, **NARROW),
        'ResNetV1c50': _resnet('ResNetV1c', 50, **NARROW),
        'ResNetV1d50': _resnet('ResNetV1d', 50, **NARROW),
        'ResNeXt50': _resnet('ResNeXt', 50, groups=2, width_per_group=2,
                             **NARROW),
        'SEResNet50': _resnet('SEResNet', 50, se_ratio=2, **NARROW),
        'SEResNeXt50': _resnet('SEResNeXt', 50, groups=2, width_per_group=2,
                               se_ratio=2, **NARROW),
        'ResNet_CIFAR18': _resnet('ResNet_CIFAR', 18, **NARROW),
        'MobileNetV2': dict(type='mmnc.MobileNetV2', widen_factor=0.25,
                            plugins=MBV2),
        'CifarResNet20': dict(type='CifarResNet', depth=20, base_channels=4,
                              stem_channels=8, plugins=[
                                  dict(cfg=dict(NC, postfix=1),
                                       position='before_stage',
                                       stages=(True, False, True)),
                                  *resnet_plugins(BASIC, (True, False,
                                                          True))]),
    },
}
INPUTS = {'mmdet-PluginResLayer50': (1, 64, 4, 4)}
CASES = [f'{scope}-{name}' for scope, hosts in RECIPES.items()
         for name in hosts]


def build(case: str):
    scope, name = case.split('-', 1)
    with DefaultScope.overwrite_default_scope(scope):
        torch.manual_seed(0)
        return MODELS.build(RECIPES[scope][name])


def keys_and_shapes(model) -> list:
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def recorded_weights(keys: list) -> dict:
    """A state dict away from any init (plugins not the identity), made from
    keys and shapes alone: each tensor from numpy's legacy generator seeded
    by its key's CRC-32 (the same numbers on every numpy and torch)."""
    state = {}
    for key, shape in keys:
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(0)
            continue
        rng = np.random.RandomState(zlib.crc32(key.encode()))
        if key.endswith('running_var'):
            values = rng.uniform(0.5, 1.5, shape)
        else:
            values = rng.normal(0, 0.3, shape)
        state[key] = torch.from_numpy(values.astype(np.float32))
    return state


def outputs(model, case: str) -> list:
    """The outputs on a seeded input: each one's shape, sum and 64 of its
    values (evenly spaced in the flattened tensor)."""
    model.eval()
    rng = np.random.RandomState(4)
    x = torch.from_numpy(
        rng.normal(0, 1, INPUTS.get(case, IMAGE)).astype(np.float32))
    with torch.no_grad():
        out = model(x)
    out = list(out) if isinstance(out, (tuple, list)) else [out]
    return [dict(shape=list(o.shape), sum=o.sum().item(),
                 values=o.flatten()[np.linspace(0, o.numel() - 1, 64,
                                                dtype=int)].tolist())
            for o in out]


def record(case: str) -> dict:
    model = build(case)
    keys = keys_and_shapes(model)
    model.load_state_dict(recorded_weights(keys), strict=True)
    return dict(keys=keys, outputs=outputs(model, case))


def write() -> None:
    os.makedirs(DATA, exist_ok=True)
    data = {case: record(case) for case in CASES}
    text = json.dumps(data, separators=(',', ':'))
    with gzip.GzipFile(RECORD, 'wb', mtime=0) as f:
        f.write(text.encode())


@pytest.fixture(scope='module')
def recorded():
    with gzip.open(RECORD, 'rt') as f:
        return json.load(f)


def test_every_registered_host_has_a_recipe():
    from mmnc.registry import _HOSTS
    registered = {f'{scope}-{name}' for name, by_scope in _HOSTS.items()
                  for scope in by_scope}
    pinned = {f"{scope}-{cfg['type'].removeprefix('mmnc.')}"
              for scope, hosts in RECIPES.items() for cfg in hosts.values()}
    assert registered <= pinned, registered - pinned


@pytest.mark.parametrize('case', CASES)
def test_keys_shapes_and_a_checkpoint_of_the_previous_main(case, recorded):
    model = build(case)
    assert keys_and_shapes(model) == recorded[case]['keys']
    model.load_state_dict(recorded_weights(recorded[case]['keys']),
                          strict=True)
    ours = outputs(model, case)
    theirs = recorded[case]['outputs']
    assert [o['shape'] for o in ours] == [o['shape'] for o in theirs]
    for a, b in zip(ours, theirs):
        scale = max(map(abs, b['values']))
        torch.testing.assert_close(a['values'], b['values'], rtol=1e-3,
                                   atol=1e-4 * scale)
        assert a['sum'] == pytest.approx(b['sum'], rel=1e-3,
                                         abs=1e-3 * scale)


if __name__ == '__main__' and sys.argv[1:] == ['--write']:
    write()
