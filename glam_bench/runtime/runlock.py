"""One writer per run directory: an OS file lock, released by the kernel when its holder dies.

Two trainings of the same run (the orphans of a SIGKILLed Snakemake next to the
jobs of its rerun, or a hand run beside the pipeline) would interleave their
log rows and checkpoints. The first one takes ``<run>/.lock`` with
``fcntl.flock`` and writes its PID there; a second one fails at once naming
that PID. The kernel drops the lock with the holder's last file descriptor, so
a killed holder never blocks the next run, and no stale lock file needs
cleaning: the file stays, the lock does not.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from glam_bench.errors import GlamBenchError

#: The lock file inside a run's results directory (hidden: no result file reader looks at it).
LOCK_NAME = ".lock"


class RunLockedError(GlamBenchError, RuntimeError):
    """Another live process holds the run directory."""


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold the lock of ``run_dir`` for the ``with`` block; RunLockedError naming the holder."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise RunLockedError(
                f"{run_dir} is in use by another training (process {holder}, lock {path}); "
                f"wait for it to finish, or stop it (kill {holder}) and re-run"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock
