"""Hostile checkpoints run no code, through every route a user loads by.

Each attack is a checkpoint whose payload creates a marker file; each route
is one way mmengine loads a checkpoint with ``import mmnc`` (custom_imports)
in effect. Every combination must be refused with mmnc's message (or load
as plain data), and the marker must not exist. Legitimate checkpoints
(mmengine's with message hub and numpy values, AtomicCheckpointHook's,
model-zoo style, numpy 1 and numpy 2 names) load through the same routes.
Runs in both environments (``classic``): torch >= 2.6 restricts through its
weights-only unpickler, torch < 2.6 through mmnc's.
"""
import contextlib
import copy
import copyreg
import os
import pickle
import struct
import subprocess
import sys
import time
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.registry import MODELS
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint
from mmengine.testing.runner_test_case import ToyModel
from toolrun import ROOT, data_root_options, run_tool

import mmnc  # noqa: F401  (the fix is what is tested)
from mmnc.compat import CheckpointRefused, checkpoint_fix_needed
from mmnc.datasets.synthetic import make_digits

pytestmark = [
    pytest.mark.classic,
    pytest.mark.skipif(not checkpoint_fix_needed(),
                       reason='MMNC_CHECKPOINT_FIX=0'),
]
DIGITS = 'configs/resnet_cifar/resnet20_1xb32-5e_digits.py'


class Call:
    """Pickles as ``fn(*args)`` (``fn`` by its name)."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args

    def __call__(self, *args):  # a call's result may be called in turn
        raise NotImplementedError


class SetItems:
    """Pickles as ``target`` followed by SETITEMS of ``items`` into it."""

    def __init__(self, target: Call, items: dict):
        self.target, self.items = target, items

    def __reduce__(self):
        return (self.target.fn, self.target.args, None, None,
                iter(self.items.items()))


class Buffer:
    """Pickles as mmengine writes a HistoryBuffer (NEWOBJ + BUILD), with
    any state."""

    def __init__(self, state: dict):
        self.state = state

    @property
    def __class__(self):  # the pickler checks NEWOBJ's class against it
        return HistoryBuffer

    def __reduce__(self):
        return copyreg.__newobj__, (HistoryBuffer, ), self.state


def builtins_eval():
    """``getattr(getattr(getattr, '__self__'), 'eval')``: eval, reached
    from builtins.getattr."""
    return Call(getattr, Call(getattr, getattr, '__self__'), 'eval')


def attacks(marker: Path) -> dict:
    """name: the object a hostile checkpoint holds under ``meta``."""
    touch = f'touch {marker}'
    code = f'open({str(marker)!r}, "w").close()'
    ev = builtins_eval()
    t = torch.zeros(2)
    return {
        'os.system': Call(os.system, touch),
        'exec': Call(exec, code),
        'subprocess.Popen': Call(subprocess.Popen, ['touch', str(marker)]),
        'getattr chain to eval via _rebuild_from_type_v2': Call(
            torch._tensor._rebuild_from_type_v2, ev, torch.Tensor, (code, ),
            {}),
        'getattr __globals__ of an allowed function': Call(
            Call(getattr, Call(getattr, torch._utils._rebuild_tensor_v2,
                               '__globals__'), 'get'), 'torch'),
        'getattr __self__ of an allowed statistic': Call(
            getattr, Call(getattr, HistoryBuffer, 'mean'), '__globals__'),
        'getattr __module__ / __init__ of HistoryBuffer': Call(
            getattr, HistoryBuffer, '__init__'),
        'getattr on HistoryBuffer.__class__ (type)': Call(
            getattr, Call(getattr, HistoryBuffer, '__class__'), '__call__'),
        '_rebuild_from_type_v2 calls os.system': Call(
            torch._tensor._rebuild_from_type_v2, os.system, torch.Tensor,
            (touch, ), {}),
        '_rebuild_parameter with eval as backward hook': Call(
            torch._utils._rebuild_parameter, t, False, OrderedDict(h=ev)),
        '_rebuild_parameter_with_state, eval in the state': Call(
            torch._utils._rebuild_parameter_with_state, t, False,
            OrderedDict(), {'hook': ev}),
        '_rebuild_wrapper_subclass of Popen': Call(
            torch._utils._rebuild_wrapper_subclass, subprocess.Popen,
            torch.float32, (2, ), (1, ), 0, torch.strided, 'cpu', False),
        'SETITEM into a module __dict__': SetItems(
            Call(getattr, torch._utils._rebuild_tensor_v2, '__globals__'),
            {'mmnc_was_here': 1}),
        'numpy object array holding a call': np.array(
            [Call(os.system, touch)], dtype=object),
        'numpy object array of plain data': np.array(['a', 1], dtype=object),
        'HistoryBuffer state smuggles os.system': Buffer(
            dict(max_length=3, statistics_methods={'mean': os.system})),
        'HistoryBuffer state smuggles an allowed function': Buffer(
            dict(max_length=3, statistics_methods={
                'mean': torch._tensor._rebuild_from_type_v2})),
        'HistoryBuffer statistic swapped for another': Buffer(
            dict(max_length=3, statistics_methods={
                'mean': HistoryBuffer.max})),
        'HistoryBuffer with an extra attribute': Buffer(
            dict(max_length=3, statistics=ev)),
        'HistoryBuffer called as a function': Call(HistoryBuffer, [1], [1]),
    }


def hostile(tmp_path: Path, name: str, marker: Path, **save) -> Path:
    path = tmp_path / 'hostile.pth'
    model = ToyModel()
    torch.save(dict(meta=dict(payload=attacks(marker)[name]),
                    state_dict=model.state_dict()), path, **save)
    return path


def toy_cfg(work: Path, **kwargs) -> Config:
    toy_cfg.runs = getattr(toy_cfg, 'runs', 0) + 1
    return Config(dict(
        work_dir=str(work), experiment_name=f'trust{toy_cfg.runs}',
        model=dict(type='TrustToyModel', **kwargs),
        train_dataloader=dict(
            dataset=dict(type='ToyDataset'), batch_size=3, num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=4),
        default_hooks=dict(checkpoint=dict(
            type='AtomicCheckpointHook', interval=2, by_epoch=False)),
        log_processor=dict(by_epoch=False),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        default_scope=None, launcher='none'))


class PretrainedToy(ToyModel):

    def __init__(self, init_cfg=None, **kwargs):
        super().__init__(**kwargs)
        self.init_cfg = init_cfg


class AnyToy(ToyModel):
    """A ToyModel that takes the keys the toolboxes' ``init_model`` set
    (``pretrained``, ``train_cfg``, ``data_preprocessor``)."""

    def __init__(self, **kwargs):
        super().__init__()


@pytest.fixture(autouse=True)
def toy_registry():
    from mmengine.registry import DATASETS
    from mmengine.testing.runner_test_case import ToyDataset
    MODELS.register_module('TrustToyModel', module=PretrainedToy, force=True)
    MODELS.register_module('TrustAnyToy', module=AnyToy, force=True)
    DATASETS.register_module(module=ToyDataset, force=True)
    yield
    MODELS.module_dict.pop('TrustToyModel', None)
    MODELS.module_dict.pop('TrustAnyToy', None)


def route_load_checkpoint(path: Path, work: Path):
    return _load_checkpoint(str(path), map_location='cpu')


def route_load_to_model(path: Path, work: Path):
    return load_checkpoint(ToyModel(), str(path), map_location='cpu')


def route_runner_load_from(path: Path, work: Path):
    cfg = toy_cfg(work)
    cfg.load_from = str(path)
    Runner.from_cfg(cfg).load_or_resume()


def route_runner_auto_resume(path: Path, work: Path):
    work.mkdir(parents=True, exist_ok=True)
    (work / 'last_checkpoint').write_text(str(path))
    cfg = toy_cfg(work)
    cfg.resume = True
    Runner.from_cfg(cfg).train()


def route_init_cfg_pretrained(path: Path, work: Path):
    cfg = toy_cfg(work, init_cfg=dict(type='Pretrained',
                                      checkpoint=str(path)))
    MODELS.build(cfg.model).init_weights()


@contextlib.contextmanager
def toolbox_cfg():
    """A config for a toolbox's ``init_model``; the default scope it sets
    is dropped afterwards (the other routes build in none)."""
    from mmengine.registry import DefaultScope
    before = set(DefaultScope._instance_dict)
    try:
        yield Config(dict(model=dict(type='TrustAnyToy')))
    finally:
        for name in set(DefaultScope._instance_dict) - before:
            DefaultScope._instance_dict.pop(name)


def route_init_detector(path: Path, work: Path):
    from mmdet.apis import init_detector
    with toolbox_cfg() as cfg:
        init_detector(cfg, str(path), device='cpu', cfg_options={})


def route_mmseg_init_model(path: Path, work: Path):
    from mmseg.apis import init_model
    with toolbox_cfg() as cfg:
        init_model(cfg, str(path), device='cpu')


def route_mmpretrain_init_model(path: Path, work: Path):
    from mmpretrain.apis import init_model
    with toolbox_cfg() as cfg:
        init_model(cfg, str(path), device='cpu')


ROUTES = [route_load_checkpoint, route_load_to_model, route_runner_load_from,
          route_runner_auto_resume, route_init_cfg_pretrained,
          route_init_detector, route_mmseg_init_model,
          route_mmpretrain_init_model]


@pytest.fixture
def pristine_statistics():
    HistoryBuffer()  # mmengine's own defaults, as any run has them
    before = dict(HistoryBuffer._statistics_methods)
    yield
    assert HistoryBuffer._statistics_methods == before, \
        'a checkpoint changed HistoryBuffer statistics class-wide'


@pytest.mark.parametrize('name', list(attacks(Path('m'))))
def test_hostile_checkpoint_is_refused_by_every_route(name, tmp_path,
                                                      monkeypatch,
                                                      pristine_statistics):
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    marker = tmp_path / 'code_ran'
    path = hostile(tmp_path, name, marker)
    for route in ROUTES:
        with pytest.raises(pickle.UnpicklingError) as err:
            route(path, tmp_path / route.__name__)
        assert not marker.exists(), (name, route.__name__)
        assert 'mmnc_was_here' not in vars(torch._utils), route.__name__
        # torch's unpickler wraps mmnc's refusal in its own message
        assert ('mmnc refused' in str(err.value) or 'Unsupported global'
                in str(err.value) or 'Weights only load failed'
                in str(err.value)), (route.__name__, str(err.value)[:500])


@pytest.mark.parametrize('save', [dict(_use_new_zipfile_serialization=False),
                                  dict(pickle_protocol=4)])
def test_hostile_checkpoint_in_other_formats(save, tmp_path, monkeypatch):
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    marker = tmp_path / 'code_ran'
    for name in ('os.system',
                 'getattr chain to eval via _rebuild_from_type_v2'):
        path = hostile(tmp_path, name, marker, **save)
        with pytest.raises(pickle.UnpicklingError):
            _load_checkpoint(str(path), map_location='cpu')
        assert not marker.exists(), name


def test_refusal_names_the_problem_and_the_way_out(tmp_path, monkeypatch):
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    path = hostile(tmp_path, 'getattr __globals__ of an allowed function',
                   tmp_path / 'm')
    with pytest.raises(pickle.UnpicklingError,
                       match=r'__globals__.*TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'):
        _load_checkpoint(str(path))
    assert issubclass(CheckpointRefused, pickle.UnpicklingError)


def test_trusted_file_loads_with_the_users_switch(tmp_path, monkeypatch):
    marker = tmp_path / 'code_ran'
    path = hostile(tmp_path, 'os.system', marker)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    _load_checkpoint(str(path))  # the user's explicit opt-in
    assert marker.exists()


def mmengine_checkpoint(path: Path) -> dict:
    """A checkpoint with what mmengine puts in: message hub (numpy scalars
    and arrays in HistoryBuffers), numpy meta values, optimizer state."""
    hub = MessageHub('trust-legit')
    for i in range(3):
        hub.update_scalar('train/loss', np.float32(0.5 / (i + 1)))
        hub.update_scalar('train/lr', 0.1)
    hub.update_info('iter', np.int64(3))
    hub.update_info('keep_ckpt_ids', [1, 2])
    model = ToyModel()
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ckpt = dict(meta=dict(epoch=1, iter=3, seed=np.int64(7),
                          hist=np.arange(4.0), dataset_meta=dict(
                              classes=('a', 'b'))),
                state_dict=model.state_dict(), message_hub=hub.state_dict(),
                optimizer=optim.state_dict())
    torch.save(ckpt, path)
    return ckpt


def as_numpy1(path: Path) -> None:
    """Rewrite a checkpoint's numpy 2 names as numpy 1 writes them (the
    classic environment's checkpoints)."""
    import zipfile
    src = zipfile.ZipFile(path)
    items = [(i, src.read(i)) for i in src.infolist()]
    src.close()
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as dst:
        for info, data in items:
            if info.filename.endswith('data.pkl'):
                data = data.replace(b'numpy._core.multiarray',
                                    b'numpy.core.multiarray')
            dst.writestr(info, data)


@pytest.mark.parametrize('numpy_names', ['own', 'numpy 1'])
def test_mmengine_checkpoint_loads_by_every_route(numpy_names, tmp_path,
                                                  pristine_statistics):
    path = tmp_path / 'legit.pth'
    ckpt = mmengine_checkpoint(path)
    if numpy_names == 'numpy 1' and b'numpy._core' in path.read_bytes():
        as_numpy1(path)
    got = _load_checkpoint(str(path), map_location='cpu')
    buf = got['message_hub']['log_scalars']['train/loss']
    assert type(buf) is HistoryBuffer
    assert buf.statistics('mean') == pytest.approx(np.mean([.5, .25, .5 / 3]))
    assert got['meta']['seed'] == 7 and got['meta']['hist'][3] == 3.0
    for key, value in ckpt['state_dict'].items():
        assert torch.equal(got['state_dict'][key], value)
    route_load_to_model(path, tmp_path)
    route_runner_load_from(path, tmp_path / 'load')
    route_init_cfg_pretrained(path, tmp_path / 'init')


def test_model_zoo_style_checkpoint_loads(tmp_path):
    path = tmp_path / 'zoo.pth'
    model = ToyModel()
    torch.save(dict(state_dict=model.state_dict(), meta=dict(
        mmcv_version='2.1.0', CLASSES=('cat', 'dog'), config='x = 1',
        time='Thu Dec  3 2026', env_info='sys.platform: linux')), path)
    other = ToyModel()
    load_checkpoint(other, str(path))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 other.state_dict().values()))


def test_atomic_checkpoints_train_and_resume(tmp_path):
    """AtomicCheckpointHook writes, auto-resume reads (message hub and
    optimizer included) through the restricted loader."""
    work = tmp_path / 'work'
    cfg = toy_cfg(work)
    cfg.train_cfg.max_iters = 2
    Runner.from_cfg(copy.deepcopy(cfg)).train()
    cfg.train_cfg.max_iters = 4
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 4
    assert (work / 'iter_4.pth').is_file()


def test_checkpoint_of_the_other_environment_loads(tmp_path):
    """A checkpoint written by the other supported environment's Python
    (when it is set up beside this one)."""
    this = Path(sys.prefix).name
    other = ROOT / ('.venv' if this == '.venv-classic' else '.venv-classic')
    python = other / 'bin' / 'python'
    if subprocess.run([str(python), '-c', 'import mmengine, torch'],
                      capture_output=True).returncode if python.is_file() \
            else True:
        pytest.skip(f'{other} is not set up (CI makes it after this one)')
    path = tmp_path / 'other.pth'
    code = ('import sys, numpy as np, torch; from mmengine.logging import '
            'MessageHub; h = MessageHub("o"); h.update_scalar("loss", '
            'np.float32(1)); torch.save(dict(message_hub=h.state_dict(), '
            'meta=dict(s=np.int64(2)), state_dict=dict(w=torch.ones(2))), '
            'sys.argv[1])')
    subprocess.run([str(python), '-c', code, str(path)], check=True,
                   env=dict(os.environ, PYTHONPATH=''))
    got = _load_checkpoint(str(path))
    assert got['message_hub']['log_scalars']['loss'].current() == 1.0


@pytest.fixture(scope='module')
def digits(tmp_path_factory) -> list:
    root = tmp_path_factory.mktemp('digits')
    make_digits(root)
    return data_root_options(root)


@pytest.mark.parametrize('name', [
    'getattr chain to eval via _rebuild_from_type_v2',
    'HistoryBuffer state smuggles an allowed function',
    'numpy: object array over raw bytes'])
def test_hostile_checkpoint_through_the_tools(name, digits, tmp_path):
    """tools/test.py CONFIG CKPT and tools/train.py --resume refuse it."""
    marker = tmp_path / 'code_ran'
    path = (crafted(tmp_path / 'np.pth', NUMPY_ATTACKS[name[7:]]())
            if name.startswith('numpy: ') else hostile(tmp_path, name, marker))
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    test = run_tool('tools/test.py', DIGITS, path, '--work-dir',
                    tmp_path / 'test', '--cfg-options', *digits, ok=False,
                    env=env)
    assert 'mmnc refused' in test.stdout or 'Unsupported global' in \
        test.stdout, test.stdout[-3000:]
    work = tmp_path / 'train'
    work.mkdir()
    (work / 'last_checkpoint').write_text(str(path))
    train = run_tool('tools/train.py', DIGITS, '--resume', '--work-dir', work,
                     '--cfg-options', *digits, ok=False, env=env)
    assert 'mmnc refused' in train.stdout or 'Unsupported global' in \
        train.stdout, train.stdout[-3000:]
    assert not marker.exists()


# what torch.load raises on a file cut short or overwritten
UNREADABLE = (RuntimeError, EOFError, pickle.UnpicklingError)


def newest_log(work: Path) -> str:
    return sorted(work.glob('*/*.log'))[-1].read_text()


@pytest.mark.parametrize('damage', ['truncated', 'zeroed'])
def test_damaged_newest_checkpoint_resumes_from_the_one_before(
        damage, tmp_path):
    """--resume (auto) with the newest checkpoint cut short or overwritten:
    AtomicCheckpointHook names it and the run resumes from the one before;
    upstream's CheckpointHook (the control) fails on it."""
    work = tmp_path / 'work'
    cfg = toy_cfg(work)
    Runner.from_cfg(copy.deepcopy(cfg)).train()  # iter_2.pth, iter_4.pth
    newest = work / 'iter_4.pth'
    data = bytearray(newest.read_bytes())
    if damage == 'truncated':
        data = data[:len(data) // 2]
    else:
        data[len(data) // 3:len(data) // 3 + 64] = bytes(64)
    newest.write_bytes(bytes(data))
    assert (work / 'last_checkpoint').read_text() == str(newest)

    control = copy.deepcopy(cfg)
    control.default_hooks.checkpoint.type = 'CheckpointHook'
    control.resume = True
    with pytest.raises(UNREADABLE):  # upstream: torch's reader fails
        Runner.from_cfg(control).train()

    cfg.resume = True
    cfg.train_cfg.max_iters = 6
    runner = Runner.from_cfg(cfg)
    runner.train()
    log = newest_log(work)
    assert f'checkpoint {newest} cannot be read' in log
    assert 'resumed epoch: 0, iter: 2' in log
    assert runner.iter == 6
    assert _load_checkpoint(str(work / 'iter_6.pth'))['meta']['iter'] == 6


def test_damaged_only_checkpoint_is_not_silently_ignored(tmp_path):
    work = tmp_path / 'work'
    cfg = toy_cfg(work)
    cfg.train_cfg.max_iters = 2
    Runner.from_cfg(copy.deepcopy(cfg)).train()
    (work / 'iter_2.pth').write_bytes(b'PK\x03\x04 cut')
    cfg.resume = True
    with pytest.raises(UNREADABLE):
        Runner.from_cfg(cfg).train()
    assert 'no other checkpoint' in newest_log(work)


def with_python_in_meta(src: Path, dst: Path, marker: Path,
                        gpu_ids: str = '[0]') -> Path:
    """``src`` (our own checkpoint) with ``meta['config']`` a Python
    program that creates ``marker``: plain data, which every restricted
    loader admits."""
    ckpt = torch.load(src, weights_only=False)
    ckpt['meta']['config'] = (f'open({str(marker)!r}, "w").close()\n'
                              f'gpu_ids = {gpu_ids}\n')
    torch.save(ckpt, dst)
    return dst


@pytest.fixture
def toy_checkpoint(tmp_path) -> Path:
    """iter_2.pth of a toy run (SafeRunner, AtomicCheckpointHook)."""
    from mmnc.engine import SafeRunner
    cfg = toy_cfg(tmp_path / 'first')
    cfg.train_cfg.max_iters = 2
    SafeRunner.from_cfg(cfg).train()
    return tmp_path / 'first' / 'iter_2.pth'


def resume_cfg(work: Path, path: Path) -> Config:
    cfg = toy_cfg(work)
    cfg.resume, cfg.load_from = True, str(path)
    return cfg


def test_upstream_resume_runs_python_from_meta(toy_checkpoint, tmp_path):
    """The control: mmengine's own Runner executes meta['config']."""
    marker = tmp_path / 'code_ran'
    path = with_python_in_meta(toy_checkpoint, tmp_path / 'p.pth', marker)
    Runner.from_cfg(resume_cfg(tmp_path / 'up', path)).load_or_resume()
    assert marker.exists()


def test_safe_runner_resumes_without_running_meta(toy_checkpoint, tmp_path):
    from mmnc.engine import SafeRunner
    marker = tmp_path / 'code_ran'
    path = with_python_in_meta(toy_checkpoint, tmp_path / 'p.pth', marker)
    runner = SafeRunner.from_cfg(resume_cfg(tmp_path / 'safe', path))
    runner.train()
    assert not marker.exists()
    assert runner.iter == 4
    log = newest_log(tmp_path / 'safe')
    assert 'resumed epoch: 0, iter: 2' in log
    # the message hub's history came back: 2 resumed + 2 new losses
    assert len(runner.message_hub.get_scalar('train/loss').data[0]) == 4


def test_safe_runner_still_checks_gpu_ids(toy_checkpoint, tmp_path):
    from mmnc.engine import SafeRunner
    marker = tmp_path / 'code_ran'
    path = with_python_in_meta(toy_checkpoint, tmp_path / 'p.pth', marker,
                               gpu_ids='range(0, 4)')
    runner = SafeRunner.from_cfg(resume_cfg(tmp_path / 'safe', path))
    with pytest.raises(RuntimeError, match='Number of GPUs'):
        runner.load_or_resume()
    assert not marker.exists()


@pytest.mark.parametrize('config, expected', [
    ('gpu_ids = [0, 1]', [0, 1]), ('x = 1\ngpu_ids = (3, )', (3, )),
    ('gpu_ids = range(2)', range(2)), ('gpu_ids = list(range(2))', None),
    ('gpu_ids = __import__("os").getpid()', None), ('x = 1', None),
    ('def (', None), ('[' * 200_000, None), (b'gpu_ids = [0]', None)])
def test_literal_gpu_ids(config, expected):
    from mmnc.engine import literal_gpu_ids
    assert literal_gpu_ids(config) == expected


def test_tools_train_resume_runs_no_python_from_meta(digits, tmp_path):
    """tools/train.py --resume CKPT of a checkpoint with Python in its meta:
    none of it runs, and the run resumes (epoch restored, one more
    trained)."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    first = tmp_path / 'first'
    run_tool('tools/train.py', DIGITS, '--work-dir', first, '--cfg-options',
             *digits, 'train_cfg.max_epochs=1', 'train_cfg.val_interval=9',
             env=env)
    marker = tmp_path / 'code_ran'
    path = with_python_in_meta(first / 'epoch_1.pth', tmp_path / 'p.pth',
                               marker)
    work = tmp_path / 'resumed'
    run_tool('tools/train.py', DIGITS, '--resume', path, '--work-dir', work,
             '--cfg-options', *digits, 'train_cfg.max_epochs=2',
             'train_cfg.val_interval=9', env=env)
    assert not marker.exists()
    assert 'resumed epoch: 1, iter: ' in newest_log(work)
    assert (work / 'epoch_2.pth').is_file()


# crafted numpy pickles, written opcode by opcode (protocol 2, as torch.save)
NP_MODULE = np.zeros(1).__reduce__()[0].__module__  # numpy 1 or 2 name
NONE, TRUE, FALSE = b'N', b'\x88', b'\x89'


def op_global(module: str, name: str) -> bytes:
    return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def op_text(s: str) -> bytes:
    return b'X' + struct.pack('<I', len(s.encode())) + s.encode()


def op_int(i: int) -> bytes:
    return b'J' + struct.pack('<i', i)


def op_tuple(*items: bytes) -> bytes:
    return b'(' + b''.join(items) + b't'


def op_bytes(b: bytes) -> bytes:
    """bytes as torch.save writes them: _codecs.encode(str, 'latin1')."""
    return op_global('_codecs', 'encode') + op_tuple(
        op_text(b.decode('latin1')), op_text('latin1')) + b'R'


def dtype_state(flags: int = 0, order: str = '<') -> bytes:
    return op_tuple(op_int(3), op_text(order), NONE, NONE, NONE, op_int(-1),
                    op_int(-1), op_int(flags))


def op_dtype(name: str, state: bytes = None, put: int = None) -> bytes:
    out = op_global('numpy', 'dtype') + op_tuple(op_text(name), FALSE,
                                                 TRUE) + b'R'
    if put is not None:
        out += b'q' + bytes([put])
    return out + (state or dtype_state()) + b'b'


def op_array(dtype: bytes, shape: list, data: bytes) -> bytes:
    return (op_global(NP_MODULE, '_reconstruct') + op_tuple(
        op_global('numpy', 'ndarray'), op_tuple(op_int(0)), op_bytes(b'b'))
            + b'R' + op_tuple(op_int(1), op_tuple(*map(op_int, shape)),
                              dtype, FALSE, data) + b'b')


def crafted(path: Path, payload: bytes) -> Path:
    """``{'meta': {'payload': <payload>}}`` as a torch zip checkpoint."""
    torch.save({}, path)
    pkl = (b'\x80\x02}' + op_text('meta') + b'}' + op_text('payload')
           + payload + b'ss.')
    with zipfile.ZipFile(path) as src:
        items = [(i, src.read(i)) for i in src.infolist()]
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as dst:
        for info, data in items:
            dst.writestr(info, pkl if info.filename.endswith('data.pkl')
                         else data)
    return path


OBJECT_FLAGS = 0x3f  # numpy's flags of the object dtype
NUMPY_ATTACKS = {
    # an f8 dtype that BUILD makes an object dtype: raw bytes as pointers
    'object array over raw bytes': lambda: op_array(
        op_dtype('f8', dtype_state(OBJECT_FLAGS)), [1],
        op_bytes(b'\x41' * 8)),
    'forged reference from a pointer': lambda: op_array(
        op_dtype('f8', dtype_state(OBJECT_FLAGS)), [1],
        op_bytes(struct.pack('<Q', id(np.ndarray)))),
    # an object array holding numpy.ndarray, then its dtype BUILT again as
    # float: the element's address read as a float
    'float scalar leaks an address': lambda: (
        b'(' + op_array(op_dtype('f8', dtype_state(OBJECT_FLAGS), put=1),
                        [1], b']' + op_global('numpy', 'ndarray') + b'a')
        + b'h\x01' + dtype_state(0) + b'b0t'),
    'dtype flags rewritten by BUILD': lambda: op_array(
        op_dtype('f8', dtype_state(0x04)), [2], op_bytes(bytes(8))),
    'tensor aliases a bytes object': lambda: (
        b'(' + op_bytes(bytes(16)) + b'q\x02' + op_global(
            'torch._utils', '_rebuild_device_tensor_from_numpy') + op_tuple(
            op_array(op_dtype('f4'), [4], b'h\x02'),
            op_global('torch', 'float32'), op_text('cpu'), FALSE) + b'Rt'),
    'numpy.ndarray over a buffer': lambda: (
        op_global('numpy', 'ndarray') + op_tuple(
            op_tuple(op_int(2)), op_dtype('f4'), op_bytes(bytes(8))) + b'R'),
    'structured dtype by BUILD': lambda: op_array(op_dtype('f8', op_tuple(
        op_int(3), op_text('|'), NONE, op_tuple(op_text('a')),
        b'}' + op_text('a') + op_tuple(op_dtype('f8'), op_int(0)) + b's',
        op_int(8), op_int(1), op_int(0x10))), [1], op_bytes(bytes(8))),
    'subarray dtype by BUILD': lambda: op_array(op_dtype('f8', op_tuple(
        op_int(3), op_text('|'), op_tuple(op_dtype('f8'),
                                          op_tuple(op_int(2))),
        NONE, NONE, op_int(16), op_int(8), op_int(0))), [1],
        op_bytes(bytes(16))),
    'dtype metadata by BUILD': lambda: op_array(op_dtype('f8', op_tuple(
        op_int(4), op_text('<'), NONE, NONE, NONE, op_int(-1), op_int(-1),
        op_int(0), b'}')), [1], op_bytes(bytes(8))),
    'object dtype by name': lambda: op_array(op_dtype('O'), [1],
                                             op_bytes(bytes(8))),
    'void dtype by name': lambda: op_array(op_dtype('V8'), [1],
                                           op_bytes(bytes(8))),
    'array over too few bytes': lambda: op_array(op_dtype('f8'), [1000],
                                                 op_bytes(bytes(8))),
    'array built twice': lambda: op_array(op_dtype('f8'), [1], op_bytes(
        bytes(8))) + op_tuple(op_int(1), op_tuple(op_int(1)), op_dtype(
            'f8'), FALSE, op_bytes(bytes(8))) + b'b',
    'object scalar': lambda: op_global(NP_MODULE, 'scalar') + op_tuple(
        op_dtype('f8', dtype_state(OBJECT_FLAGS)),
        op_global('numpy', 'ndarray')) + b'R',
}

# loads each file, then uses what it got as a user would (repr)
CHILD = """
import sys, mmnc, numpy as np
from mmengine.runner.checkpoint import _load_checkpoint
for path in sys.argv[1:]:
    try:
        got = _load_checkpoint(path, map_location='cpu')
    except Exception as e:
        print('REFUSED', path, type(e).__name__, flush=True)
        continue
    print('LOADED', path, flush=True)
    print(repr(got)[:300], flush=True)
"""


def test_crafted_numpy_is_refused_in_a_child(tmp_path):
    """Each abuse of numpy's reconstructors (one file each, one child
    process for all): refused, and the process ends normally (a crash, e.g.
    exit 139 on a segfault, fails)."""
    paths = {crafted(tmp_path / f'np{i}.pth', attack()): name
             for i, (name, attack) in enumerate(NUMPY_ATTACKS.items())}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    run = subprocess.run([sys.executable, '-c', CHILD, *map(str, paths)],
                         env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, (run.returncode, run.stdout[-2000:],
                                 run.stderr[-2000:])
    for path, name in paths.items():
        assert f'REFUSED {path} ' in run.stdout, (name, run.stdout[-3000:])


@pytest.mark.parametrize('name', [
    'object array over raw bytes', 'dtype flags rewritten by BUILD',
    'structured dtype by BUILD'])
def test_crafted_numpy_is_refused_by_every_route(name, tmp_path,
                                                 monkeypatch):
    """The numpy abuses through every in-process route (the child test
    above shows that loading them ends no process)."""
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    path = crafted(tmp_path / 'np.pth', NUMPY_ATTACKS[name]())
    for route in ROUTES:
        with pytest.raises(pickle.UnpicklingError):
            route(path, tmp_path / route.__name__)


def test_numpy_values_are_fresh_plain_arrays(tmp_path):
    """Arrays come back as real ``np.ndarray`` (C-contiguous, owning their
    data, native byte order) and numpy numbers as numpy scalars, whatever
    order and byte order they were written in."""
    values = dict(f=np.asfortranarray(np.arange(6.0).reshape(2, 3)),
                  big=np.arange(3, dtype='>i4'), b=np.array([True, False]),
                  c=np.array([1 + 2j]), e=np.zeros((0, 3), np.uint8),
                  s=np.float32(1.5), i=np.int64(-3), z=np.array(2.0))
    path = tmp_path / 'np.pth'
    torch.save(dict(meta=values, nested=[(values['f'], {'x': values['c']})]),
               path)
    got = _load_checkpoint(str(path))
    for key, want in values.items():
        value = got['meta'][key]
        assert type(value) is type(want), key
        assert np.array_equal(value, want) and value.dtype == want.dtype \
            .newbyteorder('='), key
        if isinstance(value, np.ndarray):
            assert value.flags.c_contiguous and value.flags.owndata, key
            assert value.flags.writeable, key
    assert type(got['nested'][0][0]) is np.ndarray
    assert type(got['nested'][0][1]['x']) is np.ndarray


def needs_safe_globals():
    from mmnc.compat import weights_only_torch
    if not weights_only_torch():
        pytest.skip('torch < 2.6 loads through mmnc\'s own unpickler, '
                    'which reads no safe-globals list')


class UserThing:
    pass


@pytest.fixture
def user_safe_globals():
    needs_safe_globals()
    from torch import serialization
    before = serialization.get_safe_globals()
    yield serialization
    serialization.clear_safe_globals()
    serialization.add_safe_globals(before)


def test_torch_safe_globals_are_left_as_they_were(tmp_path,
                                                   user_safe_globals):
    user = [type(np.dtype('f8')), UserThing, (UserThing, 'my.Thing'),
            np.ndarray]
    user_safe_globals.add_safe_globals(user)
    before = set(user_safe_globals.get_safe_globals())
    path = tmp_path / 'legit.pth'
    mmengine_checkpoint(path)
    got = _load_checkpoint(str(path))
    assert type(got['message_hub']['log_scalars']['train/loss']) is \
        HistoryBuffer
    assert type(got['meta']['hist']) is np.ndarray
    assert set(user_safe_globals.get_safe_globals()) == before
    hostile_path = hostile(tmp_path, 'os.system', tmp_path / 'm')
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(str(hostile_path))
    assert set(user_safe_globals.get_safe_globals()) == before


@pytest.mark.parametrize('entry', [getattr, (getattr, 'builtins.getattr'),
                                   eval, exec, (eval, 'x.y')])
def test_dangerous_user_safe_global_is_refused(entry, tmp_path,
                                               user_safe_globals):
    from mmnc.compat import UnsafeSafeGlobals
    user_safe_globals.add_safe_globals([entry])
    before = set(user_safe_globals.get_safe_globals())
    path = tmp_path / 'legit.pth'
    mmengine_checkpoint(path)
    with pytest.raises(UnsafeSafeGlobals, match='clear_safe_globals'):
        _load_checkpoint(str(path))
    assert set(user_safe_globals.get_safe_globals()) == before


def deep_lists(depth: int) -> bytes:
    return b']q\x00' + b']' * depth + b'a' * depth


def shared_lists(levels: int) -> bytes:
    """A tuple of 29 references to a tuple of 29 references ...: ~29**levels
    items when printed, a few hundred bytes written."""
    level = b'(' + b'h\x01' * 29 + b'tq\x01'
    return b'(' + op_text('x' * 100) + b'q\x01' + level * levels + b't'


@pytest.mark.parametrize('shape', ['deep', 'shared'])
@pytest.mark.parametrize('where', ['HistoryBuffer state', 'getattr'])
def test_refusals_are_cheap(shape, where, tmp_path):
    """A refusal formats no unbounded repr: 200k nested lists or 12 levels
    of shared references (a ~10**18-character repr) in what is refused."""
    data = deep_lists(200_000) if shape == 'deep' else shared_lists(12)
    if where == 'getattr':
        payload = op_global('builtins', 'getattr') + b'(' + data + \
            op_text('x') + b'tR'
    else:
        payload = op_global(
            'mmengine.logging.history_buffer', 'HistoryBuffer') + \
            b')\x81}' + op_text('max_length') + data + b'sb'
    path = crafted(tmp_path / 'big.pth', payload)
    assert path.stat().st_size < 1 << 20
    start = time.perf_counter()
    with pytest.raises(pickle.UnpicklingError) as err:
        _load_checkpoint(str(path))
    assert time.perf_counter() - start < 5
    assert len(str(err.value)) < 5000


@pytest.mark.parametrize(
    'save', [{}, dict(_use_new_zipfile_serialization=False)])
def test_inspect_checkpoint_reports_config_strings_without_running_them(
        save, tmp_path):
    from mmnc import inspect_checkpoint
    marker = tmp_path / 'code_ran'
    code = f'open({str(marker)!r}, "w").close()'
    hub = MessageHub('inspect')
    hub.update_info('cfg', code + '\n# hub')
    path = tmp_path / 'c.pth'
    torch.save(dict(meta=dict(config=code), message_hub=hub.state_dict(),
                    payload=Call(os.system, f'touch {marker}'),
                    state_dict=ToyModel().state_dict()), path, **save)
    report = inspect_checkpoint(str(path))
    assert ('config', code) in report['configs']
    assert ('cfg', code + '\n# hub') in report['configs']
    assert 'posix.system' in report['globals'] or \
        'os.system' in report['globals']
    assert 'torch._utils._rebuild_tensor_v2' in report['globals']
    tool = subprocess.run(
        [sys.executable, 'tools/analysis/inspect_checkpoint.py', str(path)],
        cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert tool.returncode == 1 and "under 'config'" in tool.stdout, \
        tool.stdout + tool.stderr
    assert not marker.exists()
