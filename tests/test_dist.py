"""Distributed runs on this CPU (gloo) through the project's launchers.

Classification: 2 processes x batch 16 against 1 process x batch 32 (same
seed, deterministic, one epoch of the digits). The same images make up each
step's global batch and DDP averages the gradients, so the two runs are the
same computation up to float rounding unless the model couples the samples
of a batch. BN does: each process normalises its own 16 images (measured
with the config's BN and AdamW: 68.0 vs 67.6% top-1, weights up to 0.4
apart). These runs use GroupNorm and SGD instead: measured, the weights
agree to 1.3e-4 after 43 steps and the accuracies exactly.
"""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint
from toolrun import (
    ROOT,
    coco_options,
    data_root_options,
    last_log_dir,
    read_test_metrics,
    run_tool,
    train_scalars,
)

from mmnc.datasets.synthetic import make_coco_det, make_digits

CLS = 'configs/resnet_cifar/resnet20_1xb32-5e_digits.py'
DET = 'configs/faster_rcnn/faster-rcnn_r101-caffe-c4-nc_1xb2-2e_coco-tiny.py'
# per-sample normalisation and an optimizer linear in the gradients
EXACT = ['randomness.deterministic=True', 'train_cfg.max_epochs=1',
         'model.backbone.norm_cfg.type=GN',
         'model.backbone.norm_cfg.num_groups=8',
         'optim_wrapper.optimizer.type=SGD', 'optim_wrapper.optimizer.lr=0.1',
         'optim_wrapper.optimizer.momentum=0.9']


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def launch(script: str, *args, env: dict = None) -> None:
    """Run ``bash tools/SCRIPT ARGS`` on a free port."""
    port = str(free_port())  # dist_*.sh read PORT, slurm_*.sh MASTER_PORT
    env = dict(os.environ, PYTHON=sys.executable, PORT=port,
               MASTER_PORT=port, **(env or {}))
    proc = subprocess.run(['bash', f'tools/{script}', *map(str, args)],
                          cwd=ROOT, env=env, text=True, timeout=600,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.returncode == 0, proc.stdout[-4000:]


def runtime(work_dir: Path) -> str:
    """Rank 0's log (the launcher's mixed stdout can split its lines)."""
    log_dir = last_log_dir(work_dir)
    return (log_dir / f'{log_dir.name}.log').read_text()


def last_accuracy(work_dir: Path) -> float:
    return [s for s in train_scalars(work_dir) if 'accuracy/top1' in s
            ][-1]['accuracy/top1']


@pytest.fixture(scope='module')
def digits(tmp_path_factory) -> list:
    """--cfg-options that point every loader at a fresh digits set."""
    root = tmp_path_factory.mktemp('dist') / 'digits'
    make_digits(root)
    return data_root_options(root)


@pytest.fixture(scope='module')
def two_procs(digits, tmp_path_factory) -> Path:
    """The work dir of the 2-process classification run."""
    work = tmp_path_factory.mktemp('dist') / 'two'
    launch('dist_train.sh', CLS, 2, '--work-dir', work, '--cfg-options',
           *digits, *EXACT, 'train_dataloader.batch_size=16')
    assert 'Distributed launcher: pytorch' in runtime(work)
    assert 'GPU number: 2' in runtime(work)
    return work


def max_diff(a: Path, b: Path) -> float:
    """The largest difference between the weights of two checkpoints."""
    a, b = (_load_checkpoint(str(p))['state_dict'] for p in (a, b))
    assert a.keys() == b.keys()
    return max((a[k] - v).abs().max().item() for k, v in b.items()
               if v.is_floating_point())


def test_two_procs_train_as_one_with_the_same_total_batch(
        two_procs, digits, tmp_path):
    one = tmp_path / 'one'
    run_tool('tools/train.py', CLS, '--work-dir', one, '--cfg-options',
             *digits, *EXACT, env=dict(os.environ, OMP_NUM_THREADS='1'))
    root = Path(digits[0].split('=', 1)[1])
    steps = -(-len(list(root.glob('train/*/*.png'))) // 32)  # ceil
    assert [_load_checkpoint(str(w / 'epoch_1.pth'))['meta']['iter']
            for w in (one, two_procs)] == [steps, steps]
    assert max_diff(one / 'epoch_1.pth', two_procs / 'epoch_1.pth') < 1e-3
    one_image = 100 / len(list(root.glob('val/*/*.png')))  # in % top-1
    assert last_accuracy(two_procs) == pytest.approx(last_accuracy(one),
                                                     abs=one_image + 1e-4)
    assert last_accuracy(one) > 20  # it learnt something (chance: 10)


def test_slurm_scripts_with_a_stand_in_srun(two_procs, digits, tmp_path):
    """srun is absent here: a stand-in starts --ntasks local tasks. The
    slurm launcher trains as torchrun does, to the bit."""
    srun = tmp_path / 'bin' / 'srun'
    srun.parent.mkdir()
    srun.write_text('''#!/usr/bin/env bash
while [[ $1 == -* ]]; do
  case $1 in --ntasks=*) n=${1#*=} ;; -p) shift ;; esac
  shift
done
for ((i = 0; i < n; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NTASKS=$n SLURM_NODELIST=localhost \\
    "$@" &
done
status=0
for job in $(jobs -p); do wait "$job" || status=1; done
exit $status
''')
    srun.chmod(0o755)
    env = dict(PATH=f'{srun.parent}{os.pathsep}{os.environ["PATH"]}',
               GPUS='2', GPUS_PER_NODE='2', MASTER_ADDR='127.0.0.1',
               OMP_NUM_THREADS='1')
    work = tmp_path / 'train'
    launch('slurm_train.sh', 'cpu', 'mmnc', CLS, work, '--cfg-options',
           *digits, *EXACT, 'train_dataloader.batch_size=16', env=env)
    assert 'Distributed launcher: slurm' in runtime(work)
    assert 'GPU number: 2' in runtime(work)
    assert max_diff(work / 'epoch_1.pth', two_procs / 'epoch_1.pth') == 0

    # tested on the val split: what the run's last validation scored with
    # the same weights (the config's test split is the held-out one)
    launch('slurm_test.sh', 'cpu', 'mmnc', CLS, work / 'epoch_1.pth',
           '--work-dir', tmp_path / 'test', '--cfg-options', *digits,
           *EXACT, 'test_dataloader.dataset.data_prefix=val', env=env)
    assert read_test_metrics(tmp_path / 'test')['accuracy/top1'] == \
        pytest.approx(last_accuracy(work), abs=1e-4)


def test_detection_two_procs_then_dist_test(tmp_path):
    root = tmp_path / 'coco_tiny'
    make_coco_det(root, num_train=4, num_val=2, size=128)
    opts = coco_options(root) + ['train_cfg.max_epochs=1',
                                 'train_cfg.val_interval=100']
    work = tmp_path / 'work'
    launch('dist_train.sh', DET, 2, '--work-dir', work, '--cfg-options',
           *opts)
    ckpt = work / 'epoch_1.pth'
    assert (work / 'last_checkpoint').read_text() == str(ckpt)
    assert _load_checkpoint(str(ckpt))['meta']['iter'] == 1  # 4 imgs, 2x2
    state = _load_checkpoint(str(ckpt))['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values()
               if v.is_floating_point())

    launch('dist_test.sh', DET, ckpt, 2, '--work-dir', tmp_path / 'test',
           '--cfg-options', *opts)
    metrics = read_test_metrics(tmp_path / 'test')
    assert 0 <= metrics['coco/bbox_mAP'] <= 1


def test_sync_bn_swap_is_logged(monkeypatch):
    """A CPU launched run builds BN for SyncBN and says where."""
    from unittest import mock

    from mmengine.config import Config

    from mmnc.utils import dist
    cfg = Config(dict(launcher='pytorch', model=dict(
        backbone=dict(norm_cfg=dict(type='SyncBN')),
        heads=[dict(norm_cfg=dict(type='SyncBN', requires_grad=True))])))
    monkeypatch.setattr(dist, 'init_dist', lambda *a, **k: None)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with mock.patch.object(dist, 'print_log') as log:
        assert dist.init_cpu_distributed(cfg)
    message = log.call_args[0][0]
    assert 'model.backbone.norm_cfg, model.heads.0.norm_cfg' in message
    assert cfg.model.heads[0].norm_cfg.type == 'BN'
