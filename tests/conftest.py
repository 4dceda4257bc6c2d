"""Suite-wide settings."""

import os

import torch


def pytest_configure(config):
    """One torch thread per xdist worker: two workers on two cores, each with two threads, thrash."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)
