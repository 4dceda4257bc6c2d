"""One writer per run directory: an OS file lock, released by the kernel when its holder dies.

Two trainings of the same run (the orphans of a SIGKILLed Snakemake next to the
jobs of its rerun, or a hand run beside the pipeline) would interleave their
log rows and checkpoints. The first one takes ``<run>/.lock`` with
``fcntl.flock`` and writes its PID there; a second one fails at once naming
that PID. The kernel drops the lock with the holder's last file descriptor, so
a killed holder never blocks the next run, and no stale lock file needs
cleaning: the file stays, the lock does not. :func:`lock_holder` asks whether a
live process holds it (``glam-bench status`` tells running runs from stopped ones).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from glam_bench.errors import GlamBenchError

#: The lock file inside a run's results directory (hidden: no result file reader looks at it).
LOCK_NAME = ".lock"
#: How long taking the lock retries before refusing: long enough to outlast a
#: :func:`lock_holder` probe (microseconds), far shorter than any real training.
PROBE_GRACE_S = 0.5


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
        if not _take(fd, fcntl.LOCK_EX, PROBE_GRACE_S):
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            raise RunLockedError(
                f"{run_dir} is in use by another training (process {holder}, lock {path}); "
                f"wait for it to finish, or stop it (kill {holder.split()[0]}) and re-run"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} on {socket.gethostname()}\n".encode("ascii", "replace"), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


def _take(fd: int, mode: int, grace_s: float) -> bool:
    """Whether ``flock(fd, mode)`` succeeds within ``grace_s`` seconds (without blocking)."""
    deadline = time.monotonic() + grace_s
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


def lock_holder(run_dir: str | os.PathLike) -> str | None:
    """Who holds the lock of ``run_dir`` (``"<pid> on <host>"``), or None when no live process
    does: a killed holder's lock is gone with it, whatever its lock file still says.

    Probes with a shared lock taken and dropped at once; :func:`run_lock` retries
    for :data:`PROBE_GRACE_S`, so a training starting meanwhile is not refused.
    """
    path = Path(run_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if _take(fd, fcntl.LOCK_SH, 0.0):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        return os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
    finally:
        os.close(fd)
