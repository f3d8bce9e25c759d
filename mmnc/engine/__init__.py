from .atomic_checkpoint_hook import AtomicCheckpointHook, atomic_open
from .safe_runner import SafeRunner, literal_gpu_ids

__all__ = ['AtomicCheckpointHook', 'atomic_open', 'SafeRunner',
           'literal_gpu_ids']
