"""Fixtures for tests, the demo and benchmarks: the small datasets in real
formats and the plain NC reference. Model code never imports this."""
from .naive_nc import NaiveNC, naive_nc

__all__ = ['NaiveNC', 'naive_nc']
