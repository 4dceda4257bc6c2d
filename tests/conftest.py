"""Suite-wide settings."""

import torch


def pytest_configure(config):
    """One torch thread for the whole suite.

    Its models are tiny: on a 2-core machine torch's second OpenMP thread mostly
    waits on the first and makes small matmuls up to ~100x slower, and under
    xdist each worker already has a core. Benchmarks that time a thread count
    set it themselves.
    """
    torch.set_num_threads(1)
