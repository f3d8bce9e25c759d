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


# The longest files first, so that with several workers (make test's
# TEST_JOBS) the quick demo is not the last thing running.
SLOW_FIRST = ('test_learn.py', 'test_trust.py', 'test_dist.py',
              'test_round_trip.py', 'test_compare.py', 'test_det.py',
              'test_deploy.py', 'test_install.py', 'test_resume_kill.py')


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(
            SLOW_FIRST)
    items.sort(key=rank)  # stable: each file keeps its own order
