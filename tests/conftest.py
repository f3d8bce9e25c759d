import os
import sys

import pytest
import torch

# tools/ are scripts; tests import their helpers by path.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools'))


@pytest.fixture(scope='module')
def one_thread():
    """Small forwards on a small shared CPU are faster on one thread
    (``pytestmark = pytest.mark.usefixtures('one_thread')``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
