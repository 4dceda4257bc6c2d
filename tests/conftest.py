"""Suite-wide settings."""

import os

import pytest
import torch

#: Set to 1 to run the tests marked ``measurement``: slow benchmarks whose numbers go in
#: closing notes and the README (minutes each), kept out of CI's plain ``pytest``.
MEASUREMENTS_VARIABLE = "GLAM_BENCH_MEASUREMENTS"


def pytest_configure(config):
    """One torch thread for the whole suite.

    Its models are tiny: on a 2-core machine torch's second OpenMP thread mostly
    waits on the first and makes small matmuls up to ~100x slower, and under
    xdist each worker already has a core. Benchmarks that time a thread count
    set it themselves.
    """
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """Skip ``measurement`` tests unless GLAM_BENCH_MEASUREMENTS=1 (they are reports, not checks)."""
    if os.environ.get(MEASUREMENTS_VARIABLE) == "1":
        return
    skip = pytest.mark.skip(reason=f"a measurement: run with {MEASUREMENTS_VARIABLE}=1")
    for item in items:
        if "measurement" in item.keywords:
            item.add_marker(skip)
