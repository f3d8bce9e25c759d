"""What only tests and benchmarks use: the plain NC reference. Model code
never imports this."""
from .naive_nc import NaiveNC, naive_nc

__all__ = ['NaiveNC', 'naive_nc']
