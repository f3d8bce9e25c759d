"""Fixes applied on ``import mmnc`` (so they reach upstream tools too).

1. Checkpoint trust. torch >= 2.6 loads with ``weights_only=True``, which
   refuses the few mmengine/numpy objects that mmengine 0.10.7 puts in every
   checkpoint (its message hub's ``HistoryBuffer``s, numpy scalars), so
   ``--resume`` and ``load_from`` fail on the project's own checkpoints.
   Inside mmengine's checkpoint loaders we allow exactly those objects
   (``torch.serialization.safe_globals``, plus ``getattr``, which
   ``HistoryBuffer`` pickles its statistics with): loading stays
   weights-only, and a pickle that would call anything else is refused. To
   load a checkpoint you trust that needs more, opt in with
   ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (torch's own switch).
2. Distributed runs on CPU (only when no GPU is present; GPU behaviour stays
   upstream's): the NCCL backend of every default runtime becomes gloo,
   ``torch.cuda.set_device`` is skipped, DDP gets ``device_ids=None``,
   SyncBN layers are reverted to BN (SyncBN cannot run on CPU; BN statistics
   are then per process) and the process group is destroyed at exit:
   mmengine leaves it to the interpreter's teardown, where gloo's threads
   can abort a finished rank with SIGABRT ("terminate called without an
   active exception", see pytorch/pytorch#179291), failing the launch.
3. Crash-safe checkpoints: mmengine writes every local checkpoint through
   ``LocalBackend.put`` (``Runner.save_checkpoint`` and ``CheckpointHook``
   via ``mmengine.runner.checkpoint.save_checkpoint``) and then the
   ``last_checkpoint`` pointer with ``open`` in ``CheckpointHook``. Both now
   write a temporary file in the same folder and ``os.replace`` it, and the
   hook removes checkpoints beyond ``max_keep_ckpts`` only after the new one
   and its pointer are written (upstream removes them first), so a kill at
   any moment leaves ``last_checkpoint`` naming a complete checkpoint.
"""
import atexit
import contextlib
import datetime
import os
import os.path as osp
from typing import IO, Iterator
from unittest import mock

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer


def _numpy_globals() -> list:
    core = getattr(np, '_core', None) or np.core
    dtypes = [type(np.dtype(t)) for t in (np.float16, np.float32, np.float64,
                                          np.int32, np.int64, np.bool_,
                                          np.uint8, np.int8, np.int16)]
    return [core.multiarray._reconstruct, core.multiarray.scalar, np.ndarray,
            np.dtype, *dtypes]


def allow_mmengine_checkpoints() -> None:
    """Let mmengine's checkpoint loaders accept mmengine's own checkpoints.

    Scoped to mmengine's ``CheckpointLoader`` (``load_from``, ``--resume``,
    ``init_cfg=dict(type='Pretrained')``): a plain ``torch.load`` elsewhere
    keeps torch's default list.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    # HistoryBuffer pickles its statistics as getattr(HistoryBuffer, 'min')
    allowed = [HistoryBuffer, getattr, *_numpy_globals()]
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        if getattr(loader, '_mmnc', False):
            continue

        def load(*args, _loader=loader, **kwargs):
            with torch.serialization.safe_globals(allowed):
                return _loader(*args, **kwargs)

        load._mmnc = True
        CheckpointLoader._schemes[prefix] = load


def _destroy_process_group() -> None:
    """Tear gloo down while every rank is still alive: wait for all of them
    first, so no rank closes its connections under a peer's threads."""
    if torch.distributed.is_initialized():
        with contextlib.suppress(RuntimeError):  # a peer died: skip the wait
            torch.distributed.monitored_barrier(
                timeout=datetime.timedelta(seconds=120))
        torch.distributed.destroy_process_group()


@contextlib.contextmanager
def _no_cuda_set_device():
    with mock.patch.object(torch.cuda, 'set_device', lambda *a, **k: None):
        yield


def patch_cpu_distributed() -> None:
    """Make mmengine's launchers and DDP wrapper work on a CPU-only machine."""
    if torch.cuda.is_available():
        return
    import mmengine.dist
    import mmengine.dist.utils
    import mmengine.runner.runner
    from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm

    orig_init_dist = mmengine.dist.utils.init_dist
    if getattr(orig_init_dist, '_mmnc_cpu', False):
        return

    def init_dist(launcher, backend='nccl', **kwargs):
        if backend == 'nccl':
            backend = 'gloo'
        with _no_cuda_set_device():
            orig_init_dist(launcher, backend, **kwargs)
        atexit.register(_destroy_process_group)

    init_dist._mmnc_cpu = True
    for module in (mmengine.dist, mmengine.dist.utils,
                   mmengine.runner.runner):
        module.init_dist = init_dist

    orig_ddp_init = MMDistributedDataParallel.__init__

    def ddp_init(self, module, *args, **kwargs):
        kwargs['device_ids'] = None
        kwargs.pop('output_device', None)
        orig_ddp_init(self, revert_sync_batchnorm(module), *args, **kwargs)

    MMDistributedDataParallel.__init__ = ddp_init


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'wb', **kwargs) -> Iterator[IO]:
    """Write ``path`` through a temporary file next to it, then rename it.

    ``path`` is either as it was or complete: an exception removes the
    temporary file, a kill may leave the hidden ``.<name>.<pid>.tmp``.
    """
    head, name = osp.split(os.fspath(path))
    tmp = osp.join(head, f'.{name}.{os.getpid()}.tmp')
    try:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def _open_writes_atomically(file: str, mode: str = 'r', **kwargs
                            ) -> contextlib.AbstractContextManager:
    if 'w' in mode:
        return atomic_open(file, mode, **kwargs)
    return open(file, mode, **kwargs)


def atomic_checkpoints() -> None:
    """Make mmengine's checkpoint and ``last_checkpoint`` writes atomic."""
    from mmengine.fileio.backends.local_backend import LocalBackend
    from mmengine.hooks import checkpoint_hook
    from mmengine.utils import mkdir_or_exist

    def put(self, obj: bytes, filepath: str) -> None:
        mkdir_or_exist(osp.dirname(filepath))
        with atomic_open(filepath, 'wb') as f:
            f.write(obj)

    LocalBackend.put = put
    # the hook's only ``open`` writes the ``last_checkpoint`` pointer
    checkpoint_hook.open = _open_writes_atomically

    hook = checkpoint_hook.CheckpointHook
    orig_save = hook._save_checkpoint_with_step
    if getattr(orig_save, '_mmnc', False):
        return

    def save_then_remove(self, runner, step: int, meta: dict) -> None:
        removed = []
        with mock.patch.object(self.file_backend, 'remove', removed.append):
            orig_save(self, runner, step, meta)
        for path in removed:
            self.file_backend.remove(path)

    save_then_remove._mmnc = True
    hook._save_checkpoint_with_step = save_then_remove


allow_mmengine_checkpoints()
patch_cpu_distributed()
atomic_checkpoints()
