"""``import mmnc`` registers and changes nothing upstream.

In a fresh interpreter every module of mmengine, mmcv, mmdet, mmseg and
mmpretrain that a run uses is imported, then every name in them, every
attribute of their classes, every entry of their dicts (registries, the FLOP
counter's handles, checkpoint loaders) is recorded; ``import mmnc`` and its
tool helpers follow, and the record is taken again. New entries that are
mmnc's own are fine (its blocks in the root registry, its ``mmnc`` scope as
a child of the root registry, :mod:`mmnc.registry`); anything else that
differs is a patch. The one allowed: the version-gated checkpoint fix
(mmengine's loaders), where it is needed.
"""
import json
import os
import subprocess
import sys

import pytest
import torch
from mmengine.logging import MessageHub
from toolrun import ROOT

from mmnc.compat import (checkpoint_fix_needed, fixed_schemes,
                         weights_only_torch)

pytestmark = pytest.mark.classic

SNAPSHOT = r'''
import importlib, inspect, json, sys
UPSTREAM = ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain')
for name in ('mmengine.runner', 'mmengine.hooks', 'mmengine.dist',
             'mmengine.model', 'mmengine.fileio', 'mmengine.analysis',
             'mmengine.optim', 'mmcv.cnn', 'mmcv.ops', 'mmdet.models',
             'mmdet.engine', 'mmdet.datasets', 'mmdet.evaluation',
             'mmseg.models', 'mmseg.engine', 'mmseg.datasets',
             'mmseg.evaluation', 'mmpretrain.models', 'mmpretrain.engine',
             'mmpretrain.datasets', 'mmpretrain.evaluation'):
    importlib.import_module(name)

def own(obj):
    return (getattr(obj, '__module__', None) or '').startswith('mmnc')

def record():
    out = {}
    for mname, mod in list(sys.modules.items()):
        if mod is None or not mname.startswith(UPSTREAM):
            continue
        for k, v in list(vars(mod).items()):
            out[f'{mname}.{k}'] = id(v)
            if isinstance(v, dict):
                for kk, vv in list(v.items()):
                    out[f'{mname}.{k}[{kk!r}]'] = 'mmnc' if own(vv) else id(vv)
            if inspect.isclass(v) and v.__module__ == mname:
                for kk, vv in list(vars(v).items()):
                    out[f'{mname}.{k}.{kk}'] = id(vv)
                    if isinstance(vv, dict):
                        for k3, v3 in list(vv.items()):
                            out[f'{mname}.{k}.{kk}[{k3!r}]'] = (
                                'mmnc' if own(v3) else id(v3))
            if type(v).__name__ == 'Registry':
                for kk, vv in v.module_dict.items():
                    out[f'{mname}.{k}<{kk}>'] = 'mmnc' if own(vv) else id(vv)
                for kk, vv in v.children.items():  # child scopes
                    out[f'{mname}.{k}<scope {kk}>'] = (
                        'mmnc' if kk == 'mmnc' else id(vv))
    return out

before = record()
import mmnc, mmnc.utils, mmnc.analysis.compare, mmnc.testing  # noqa
after = record()
changed = sorted(k for k in before if after.get(k) != before[k])
# entries added to upstream dicts that existed before (registries included)
added = sorted(k for k in after if k not in before and after[k] != 'mmnc'
               and ('[' in k and k.rsplit('[', 1)[0] in before
                    or '<scope ' in k))
print(json.dumps(dict(changed=changed, added=added)))
'''


def run_python(code: str, **env) -> str:
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, text=True,
                          env=dict(os.environ, **env),
                          capture_output=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout.strip().splitlines()[-1]


def loaders() -> list:
    """The loaders the fix re-registers here: every scheme with torch >=
    2.6, local files with older torch."""
    name = 'mmengine.runner.checkpoint.CheckpointLoader._schemes'
    return sorted([name] + [f'{name}[{k!r}]' for k in fixed_schemes()])


def test_import_mmnc_changes_nothing_upstream():
    diff = json.loads(run_python(SNAPSHOT))
    # only the gated fix may differ, and only where upstream is broken
    expected = loaders() if checkpoint_fix_needed() else []
    assert diff == dict(changed=expected, added=[])


def test_the_checkpoint_fix_switched_off_changes_nothing():
    diff = json.loads(run_python(SNAPSHOT, MMNC_CHECKPOINT_FIX='0'))
    assert diff == dict(changed=[], added=[])


def test_the_checkpoint_fix_is_gated_on_the_versions(monkeypatch):
    import mmengine
    monkeypatch.delenv('MMNC_CHECKPOINT_FIX', raising=False)
    for torch_v, mmengine_v, needed in [('2.5.1', '0.10.7', True),
                                        ('2.6.0', '0.10.7', True),
                                        ('2.14.1', '0.10.7', True),
                                        ('2.14.1', '0.10.8', False),
                                        ('2.1.2', '0.10.7', True),
                                        ('2.1.2', '0.10.8', False)]:
        monkeypatch.setattr(torch, '__version__', torch_v)
        monkeypatch.setattr(mmengine, '__version__', mmengine_v)
        assert checkpoint_fix_needed() is needed, (torch_v, mmengine_v)


LOAD_HUB = r'''
import sys, torch
{imports}
from mmengine.runner import load_checkpoint
load_checkpoint(torch.nn.Linear(2, 2), sys.argv[1])
print('loaded')
'''


def test_upstream_load_checkpoint_works_with_mmnc_imported(tmp_path):
    """A checkpoint as mmengine writes it (message hub included) loads
    through mmengine's own loader once mmnc is imported, in every supported
    environment; without mmnc it fails exactly where the fix is needed."""
    hub = MessageHub('guest')
    hub.update_scalar('train/loss', 0.5)
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=torch.nn.Linear(2, 2).state_dict(),
                    message_hub=hub.state_dict()), path)
    code = LOAD_HUB.format(imports='import mmnc')
    proc = subprocess.run([sys.executable, '-c', code, str(path)], cwd=ROOT,
                          text=True, capture_output=True)
    assert proc.stdout.splitlines()[-1:] == ['loaded'], proc.stderr[-3000:]
    code = LOAD_HUB.format(imports='')
    proc = subprocess.run([sys.executable, '-c', code, str(path)], cwd=ROOT,
                          text=True, capture_output=True)
    # upstream alone refuses it with torch >= 2.6 (and loads any pickle,
    # hostile ones too, before: tests/test_trust.py)
    assert (proc.returncode != 0) is weights_only_torch(), proc.stderr


UPSTREAM_MODELS = r'''
import sys, torch
if sys.argv[1] == 'with':
    import mmnc  # noqa
from mmengine.registry import MODELS, DefaultScope
cb = dict(type='ContextBlock', ratio=1. / 4)
ga = dict(type='GeneralizedAttention', spatial_range=-1, num_heads=8,
          attention_type='0010', kv_stride=2)
nets = [
    ('mmdet', dict(type='RegNet', arch='regnetx_3.2gf', out_indices=(3, ),
                   plugins=[dict(cfg=cb, stages=(False, False, False, True),
                                 position='after_conv3')])),
    ('mmdet', dict(type='ResNet', depth=50, out_indices=(3, ), plugins=[
        dict(cfg=cb, stages=(False, True, True, True),
             position='after_conv3'),
        dict(cfg=ga, stages=(False, False, True, True),
             position='after_conv2')])),
    ('mmseg', dict(type='ResNetV1c', depth=50, out_indices=(3, ), plugins=[
        dict(cfg=cb, stages=(False, True, True, True),
             position='after_conv3'),
        dict(cfg=ga, stages=(False, False, True, True),
             position='after_conv2')])),
]
outs = []
for scope, cfg in nets:
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg)
    model.init_weights()
    model.eval()
    with torch.no_grad():
        outs.append(model(torch.randn(1, 3, 64, 64))[-1])
torch.save(outs, sys.argv[2])
'''


def test_upstream_models_behave_the_same_with_mmnc_imported(tmp_path):
    """RegNet (whose bottleneck has expansion 1) with mmcv's ContextBlock,
    and mmdet's / mmseg's ResNets with ContextBlock and
    GeneralizedAttention: built, initialised and run with and without
    ``import mmnc``, to the same numbers."""
    outs = {}
    for mode in ('without', 'with'):
        path = tmp_path / f'{mode}.pt'
        proc = subprocess.run(
            [sys.executable, '-c', UPSTREAM_MODELS, mode, str(path)],
            cwd=ROOT, text=True, capture_output=True,
            env=dict(os.environ, OMP_NUM_THREADS='1'))
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs[mode] = torch.load(path)
    assert len(outs['with']) == 3
    for a, b in zip(outs['without'], outs['with']):
        assert torch.equal(a, b)
