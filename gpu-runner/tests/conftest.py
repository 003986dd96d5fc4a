"""Shared fixtures. gpu_runner is imported first: it sets the BLAS / OpenMP thread settings
before torch loads."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gpu_runner  # noqa: E402,F401
import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    yield
