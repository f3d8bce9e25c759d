from .per_image import PerImageResults

__all__ = ['PerImageResults']
