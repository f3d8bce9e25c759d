"""A ``CheckpointHook`` whose checkpoints survive a kill at any moment."""
import contextlib
import logging
import os
import os.path as osp
import re
import zipfile
from typing import IO, Iterator, List, Optional

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.registry import HOOKS


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'w', **kwargs) -> Iterator[IO]:
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


def unreadable(path: str) -> Optional[str]:
    """Why the checkpoint at ``path`` cannot be read, or None if it can.

    Reads every byte (the zip's CRCs, as ``torch.save`` writes them) and
    unpickles nothing: a truncated, cut or overwritten file is caught
    before ``--resume`` reaches it.
    """
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        return f'{type(e).__name__}: {e}'
    return f'member {bad} fails its CRC check' if bad else None


def complete_checkpoints(out_dir: str, template: str) -> List[str]:
    """The checkpoints named by ``template`` in ``out_dir``, newest (highest
    epoch or iteration) first."""
    pattern = re.compile(re.escape(template).replace(r'\{\}', r'(\d+)') + '$')
    found = []
    for name in os.listdir(out_dir) if osp.isdir(out_dir) else []:
        match = pattern.match(name)
        if match:
            found.append((int(match.group(1)), osp.join(out_dir, name)))
    return [path for _, path in sorted(found, reverse=True)]


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook``, crash-safe on a local disk.

    Upstream removes the oldest checkpoint beyond ``max_keep_ckpts`` before
    it writes the new one, writes the checkpoint in place and then the
    ``last_checkpoint`` pointer in place: a kill in between leaves a
    truncated file or a pointer to one, and ``--resume`` fails. This hook
    writes the checkpoint under a temporary name and renames it, writes the
    pointer the same way, and removes old checkpoints only then. A run
    killed at any moment resumes with ``--resume``.

    A checkpoint can still be damaged after it was written (a full disk, a
    cut copy): before a run, when ``last_checkpoint`` (what ``--resume``
    without a path reads) names a checkpoint that cannot be read, the hook
    says so by name and points it at the newest complete checkpoint, so the
    run resumes from there. With none complete it changes nothing and the
    resume fails loudly; it never starts from scratch silently.

    Use it in a config in place of the default one (all arguments are
    ``CheckpointHook``'s)::

        default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

    Other storage backends (``backend_args``) fall back to upstream's
    behaviour.
    """

    def before_run(self, runner) -> None:
        super().before_run(runner)
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        if not (is_main_process() and osp.isfile(pointer)
                and isinstance(self.file_backend, LocalBackend)):
            return
        with open(pointer) as f:
            last = f.read().strip()
        why = unreadable(last) if osp.isfile(last) else None
        if why is None:
            return
        for path in complete_checkpoints(osp.dirname(last),
                                         self.filename_tmpl):
            if path != last and unreadable(path) is None:
                print_log(f'AtomicCheckpointHook: checkpoint {last} cannot '
                          f'be read ({why}); last_checkpoint now names the '
                          f'newest complete one, {path}, which --resume '
                          f'continues from', logger='current',
                          level=logging.WARNING)
                with atomic_open(pointer) as f:
                    f.write(path)
                return
        print_log(f'AtomicCheckpointHook: checkpoint {last} cannot be read '
                  f'({why}) and no other checkpoint in {osp.dirname(last)} '
                  f'is complete', logger='current', level=logging.ERROR)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)
        stale = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        name = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, name)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        tmp = f'.{name}.{os.getpid()}.tmp'
        runner.save_checkpoint(
            self.out_dir,
            tmp,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        tmp = osp.join(self.out_dir, tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # on disk before it gets its name
        finally:
            os.close(fd)
        os.replace(tmp, self.last_ckpt)
        with atomic_open(osp.join(runner.work_dir, 'last_checkpoint')) as f:
            f.write(self.last_ckpt)
        for old in stale:
            path = osp.join(self.out_dir, self.filename_tmpl.format(old))
            if osp.isfile(path):
                os.remove(path)
