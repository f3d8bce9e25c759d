from .atomic_checkpoint_hook import AtomicCheckpointHook, atomic_open

__all__ = ['AtomicCheckpointHook', 'atomic_open']
