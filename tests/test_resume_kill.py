"""A training run killed with SIGKILL resumes to the uninterrupted result.

ResNet-20 + NC on a small digits split (359 train images, 12 steps an
epoch), 3 epochs, deterministic, a checkpoint every epoch. Every run is a
real tools/train.py process; the kills are real SIGKILLs.
"""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint, find_latest_checkpoint
from toolrun import ROOT, data_root_options, run_tool, train_scalars

from mmnc.datasets.synthetic import make_digits

CONFIG = 'configs/resnet_cifar/resnet20-nc_1xb32-5e_digits.py'
ENV = dict(os.environ, OMP_NUM_THREADS='1')
# Runs tools/train.py; the NAME-th file opened for writing whose name holds
# NAME (e.g. epoch_2.pth, or a temporary file for it) gets half its bytes,
# then the process is SIGKILLed: a crash in the middle of a save.
CRASH_IN_WRITE = '''
import builtins, os, runpy, signal, sys

name, at = sys.argv[1], int(sys.argv[2])
sys.argv = sys.argv[3:]
real_open, opened = builtins.open, []


class HalfThenKill:
    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.f.__exit__(*exc)

    def write(self, data):
        self.f.write(data[:len(data) // 2])
        self.f.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def crash_open(file, mode='r', *args, **kwargs):
    f = real_open(file, mode, *args, **kwargs)
    if 'w' in mode and name in os.path.basename(str(file)):
        opened.append(file)
        if len(opened) == at:
            return HalfThenKill(f)
    return f


builtins.open = crash_open
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.fixture(scope='module')
def options(tmp_path_factory) -> list:
    """--cfg-options: a small stratified digits split, 3 epochs."""
    root = tmp_path_factory.mktemp('resume') / 'digits'
    counts = make_digits(root, val_fraction=0.7, test_fraction=0.1)
    assert 350 < counts['train_images'] < 370
    return data_root_options(root) + [
                'train_cfg.max_epochs=3', 'randomness.deterministic=True',
                'default_hooks.checkpoint.interval=1']


def train(work: Path, options: list, *args: str) -> list:
    return ['tools/train.py', CONFIG, '--work-dir', str(work), *args,
            '--cfg-options', *options]


@pytest.fixture
def start():
    """Start tools/train.py in the background; kill leftovers at the end."""
    procs = []

    def start(work: Path, options: list) -> subprocess.Popen:
        with open(work.parent / f'{work.name}.log', 'w') as log:
            procs.append(subprocess.Popen(
                [sys.executable, *train(work, options)], cwd=ROOT, env=ENV,
                stdout=log, stderr=subprocess.STDOUT))
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def final_accuracy(work: Path) -> float:
    return [s for s in train_scalars(work) if 'accuracy/top1' in s
            ][-1]['accuracy/top1']


def test_sigkill_then_resume_ends_as_the_uninterrupted_run(
        start, options, tmp_path):
    whole = start(tmp_path / 'whole', options)
    killed = start(tmp_path / 'killed', options)
    pointer = tmp_path / 'killed' / 'last_checkpoint'
    deadline = time.monotonic() + 300
    while not pointer.exists() and time.monotonic() < deadline:
        assert killed.poll() is None, (tmp_path / 'killed.log').read_text()
        time.sleep(0.02)
    assert pointer.exists()
    killed.send_signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL
    assert not (tmp_path / 'killed' / 'epoch_3.pth').exists()  # mid-way

    out = run_tool(*train(tmp_path / 'killed', options, '--resume'),
                   env=ENV).stdout
    assert 1 <= int(re.search(r'resumed epoch: (\d+)', out)[1]) < 3
    assert whole.wait() == 0, (tmp_path / 'whole.log').read_text()[-4000:]
    a = _load_checkpoint(str(tmp_path / 'whole' / 'epoch_3.pth'))
    b = _load_checkpoint(str(tmp_path / 'killed' / 'epoch_3.pth'))
    assert a['meta']['iter'] == b['meta']['iter'] == 36
    assert a['state_dict'].keys() == b['state_dict'].keys()
    assert any('nc_block' in k for k in a['state_dict'])
    for k, v in a['state_dict'].items():
        assert torch.equal(v, b['state_dict'][k]), k
    assert final_accuracy(tmp_path / 'killed') == final_accuracy(
        tmp_path / 'whole') > 20


@pytest.mark.parametrize('name,at', [('epoch_2.pth', 1),
                                     ('last_checkpoint', 2)])
def test_kill_during_a_save_leaves_a_loadable_last_checkpoint(
        name, at, options, tmp_path):
    """Upstream, the epoch_2 case leaves last_checkpoint naming epoch_1.pth,
    which max_keep_ckpts=1 deleted before writing epoch_2.pth; the
    last_checkpoint case leaves an empty pointer."""
    work = tmp_path / 'work'
    proc = run_tool('-c', CRASH_IN_WRITE, name, at,
                    *train(work, options[:3] + [
                        'train_cfg.max_epochs=2',
                        'default_hooks.checkpoint.max_keep_ckpts=1']),
                    ok=False, env=ENV)
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-4000:]
    latest = find_latest_checkpoint(str(work))
    assert latest == str(work / 'epoch_1.pth')
    ckpt = _load_checkpoint(latest)
    assert ckpt['meta']['epoch'] == 1 and 'message_hub' in ckpt
    if name == 'epoch_2.pth':
        assert not (work / 'epoch_2.pth').exists()


def test_upstream_checkpoint_hook_is_the_control(options, tmp_path):
    """The same kill with mmengine's own CheckpointHook: last_checkpoint
    names epoch_1.pth, deleted before epoch_2.pth was (half) written, so
    --resume has nothing to load. The configs' AtomicCheckpointHook is what
    makes the test above pass."""
    work = tmp_path / 'work'
    proc = run_tool('-c', CRASH_IN_WRITE, 'epoch_2.pth', 1,
                    *train(work, options[:3] + [
                        'train_cfg.max_epochs=2',
                        'default_hooks.checkpoint.max_keep_ckpts=1',
                        'default_hooks.checkpoint.type=CheckpointHook']),
                    ok=False, env=ENV)
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-4000:]
    latest = find_latest_checkpoint(str(work))
    assert latest == str(work / 'epoch_1.pth')
    assert not os.path.exists(latest)
