"""Distributed runs on CPU processes, for ``tools/train.py``/``tools/test.py``.

mmengine's launchers assume GPUs. On a machine without one, the project's
tools set what mmengine lets a config set: the gloo backend
(``env_cfg.dist_cfg``), DDP without device ids (``model_wrapper_cfg``) and
BN instead of SyncBN (which raises on CPU; BN statistics are then per
process). One thing has no setting: mmengine's ``init_dist`` calls
``torch.cuda.set_device(local_rank)`` unconditionally, which fails without a
GPU. That call is skipped, only inside :func:`init_cpu_distributed`, only
without a GPU: the one shim. GPU runs are untouched.
"""
import contextlib
import datetime
import logging
from typing import Any, List
from unittest import mock

import torch
from mmengine.config import Config
from mmengine.dist import init_dist
from mmengine.logging import print_log


def sync_bn_to_bn(node: Any, where: str = 'model') -> List[str]:
    """Replace SyncBN norm types in a config (in place) by BN; return where
    (config paths such as ``model.backbone.norm_cfg``)."""
    swapped = []
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN', 'TorchSyncBN'):
            node['type'] = 'BN'
            swapped.append(where)
        for k, v in node.items():
            swapped += sync_bn_to_bn(v, f'{where}.{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            swapped += sync_bn_to_bn(v, f'{where}.{i}')
    return swapped


def init_cpu_distributed(cfg: Config) -> bool:
    """Start a CPU (gloo) process group for a launched run without a GPU.

    Returns whether it did: False for ``--launcher none`` or with a GPU.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return False
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = dict(env_cfg.get('dist_cfg') or {}, backend='gloo')
    env_cfg['dist_cfg'] = dist_cfg
    wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters',
                                                  False))
    wrapper.update(cfg.get('model_wrapper_cfg') or {})
    wrapper.update(device_ids=None, output_device=None)
    cfg.model_wrapper_cfg = wrapper
    swapped = sync_bn_to_bn(cfg.model)
    if swapped:
        print_log(f'CPU distributed run: SyncBN raises on CPU, so these norm '
                  f'layers are BN (statistics per process, not synchronised): '
                  f'{", ".join(swapped)}', logger='current',
                  level=logging.WARNING)
    with mock.patch.object(torch.cuda, 'set_device', lambda *a, **k: None):
        init_dist(cfg.launcher, **dist_cfg)
    return True


def destroy_cpu_distributed() -> None:
    """Tear gloo down while every rank is still alive.

    mmengine leaves the process group to the interpreter's teardown, where
    gloo's threads can abort a finished rank with SIGABRT ("terminate called
    without an active exception", pytorch/pytorch#179291) and fail the
    launch. Wait for all ranks first, so no rank closes its connections
    under a peer's threads.
    """
    if torch.distributed.is_initialized():
        with contextlib.suppress(RuntimeError):  # a peer died: skip the wait
            torch.distributed.monitored_barrier(
                timeout=datetime.timedelta(seconds=120))
        torch.distributed.destroy_process_group()
