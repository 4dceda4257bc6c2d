"""Run directories, atomic checkpoints and resumption, shared by every learner.

A run is (experiment, agent, seed). Its small results live in
``<results>/runs/<experiment>/<agent>/seed-<seed>/``: ``run.json`` (config,
versions, git revision, timings), ``train_log.csv`` (one row per update, §G),
``policy_log.csv`` and, after evaluation, ``tests/<test>.csv``. Its
checkpoint lives in the work folder (never committed):
``<work>/runs/<experiment>/<agent>/seed-<seed>/checkpoint.pt``, written
atomically after every update with model, optimizer, every RNG state, the
envs' own states and the counters, so a killed run resumes exactly where its
last completed update left it. ``done.json`` marks a finished run: only a
finished run produces the outputs the pipeline declares.

The checkpoint also carries the text of the run's logs as they stood after its
update (they are small), so a resumed run restores a log that was emptied,
cut or deleted meanwhile instead of continuing from it (:func:`restore_logs`).

Nothing is taken from a checkpoint before it is verified: ``checkpoint.pt.sha256``
beside it holds the sha256 of its bytes, written with it (``torch.load`` does not
check the archive's CRCs, so flipped bytes in a tensor would otherwise load). The
verified digest names the policy a finished run trained (``done.json``) and the one
each evaluation played (``tests/<test>.json``). Checkpoints load memory-mapped, so
the ranks of a resumed run share one copy through the page cache. A checkpoint
written under other run settings is moved aside under a name derived from its
settings, never over another one, and is resumed when those settings return.
``run.json`` stores the checkpoint's path relative to the run directory, so
the run is found from any working directory.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from glam_bench.errors import GlamBenchError
from glam_bench.runtime import moved_modules
from glam_bench.runtime.results import atomic_open, file_sha256

#: Checkpoints of format 2 are written with a digest file and verified at every load.
CHECKPOINT_FORMAT = 2
#: Checkpoints written before digests existed: read unverified (said on stderr) rather than
#: refused, so a run in progress when the suite was updated is not lost; its next save has one.
UNVERIFIED_FORMAT = 1


class CheckpointError(GlamBenchError, RuntimeError):
    """A checkpoint that cannot be used; names the file and what to do."""


@dataclass(frozen=True)
class RunPaths:
    """Where one run's files live."""

    results: Path
    work: Path

    @classmethod
    def for_run(cls, results_dir: str | os.PathLike, work_dir: str | os.PathLike,
                experiment: str, agent: str, seed: int) -> RunPaths:
        relative = Path("runs") / experiment / agent / f"seed-{seed}"
        return cls(Path(results_dir) / relative, Path(work_dir) / relative)

    @property
    def run_json(self) -> Path:
        return self.results / "run.json"

    @property
    def train_log(self) -> Path:
        return self.results / "train_log.csv"

    @property
    def policy_log(self) -> Path:
        return self.results / "policy_log.csv"

    @property
    def done(self) -> Path:
        return self.results / "done.json"

    @property
    def checkpoint(self) -> Path:
        return self.work / "checkpoint.pt"

    @property
    def tests(self) -> Path:
        return self.results / "tests"

    def test_file(self, test: str) -> Path:
        return self.tests / f"{test}.csv"


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
            cwd=Path(__file__).parent, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


#: Libraries whose versions can change a run's numbers, recorded in run.json.
RECORDED_LIBRARIES = ("numpy", "tokenizers", "safetensors", "peft", "accelerate")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment_info() -> dict[str, str | int]:
    """Versions, machine and torch thread counts, recorded in run.json for provenance.

    The thread count is part of what a run computes: CPU kernels reduce in a
    different order with another count, which moves results in the 7th digit.
    """
    import gymnasium
    import minigrid
    import transformers

    return {
        "python": platform.python_version(), "torch": torch.__version__,
        "transformers": transformers.__version__, "gymnasium": gymnasium.__version__,
        "minigrid": minigrid.__version__,
        **{package: _version(package) for package in RECORDED_LIBRARIES},
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "machine": platform.machine(),
        "platform": platform.platform(), "git_revision": git_revision(),
    }


def segment_record(device: torch.device, start_update: int, weights: dict[str, Any] | None,
                   data_parallel: str | None = None) -> dict[str, Any]:
    """What one segment of a run (a start, or a resume) ran on, for ``run.json``'s ``segments``.

    ``device`` is the one the learner resolved (``auto`` made concrete); a run
    resumed elsewhere shows each machine, GPU and library stack it used.
    ``data_parallel`` is the engine its processes shared the model with (``ddp``,
    ``fsdp``; None in one process), beside ``world_size``.
    """
    import torch.distributed as dist

    cuda = device.type == "cuda"
    nccl = torch.cuda.nccl.version() if cuda else None
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "start_update": start_update,
        "device": str(device),
        "gpu": torch.cuda.get_device_name(torch.cuda.current_device()) if cuda else None,
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "nccl": ".".join(map(str, nccl)) if isinstance(nccl, tuple) else nccl,
        "world_size": dist.get_world_size() if dist.is_available() and dist.is_initialized()
        else 1,
        "data_parallel": data_parallel,
        "host": socket.gethostname(), "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "weights": weights,
    }


def checkpoint_in_run_json(paths: RunPaths) -> str:
    """The checkpoint's path as run.json stores it: relative to the run directory."""
    return os.path.relpath(Path(paths.checkpoint).absolute(), Path(paths.results).absolute())


def checkpoint_of(run_dir: str | os.PathLike, run: dict) -> Path:
    """The checkpoint a run.json names, found from any working directory.

    Paths are relative to the run directory; run.json files written before
    that stored them relative to the directory training started from, which
    is tried second.
    """
    stored = Path(run["checkpoint"])
    if stored.is_absolute():
        return stored
    beside = Path(os.path.normpath(Path(run_dir) / stored))  # named plainly in messages
    return beside if beside.exists() or not stored.exists() else stored


def remove_stray_temporaries(paths: RunPaths) -> list[Path]:
    """Delete the temporary files of atomic writes a killed run left behind.

    Call only while holding the run's lock: then no live writer owns them.
    """
    removed = []
    for folder in (paths.work, paths.results):
        for stray in folder.glob(".*.tmp") if folder.is_dir() else ():
            stray.unlink(missing_ok=True)
            removed.append(stray)
    return removed


def remove_tests(paths: RunPaths) -> list[Path]:
    """Delete the run's test files and their records, and say so: they evaluated a policy
    this run no longer has (it starts over, or resumes another checkpoint)."""
    removed = sorted(paths.tests.glob("*.csv")) + sorted(paths.tests.glob("*.json"))
    for path in removed:
        path.unlink(missing_ok=True)
    if removed:
        names = ", ".join(p.name for p in removed if p.suffix == ".csv") or "records only"
        print(f"removed the tests of this run's previous policy from {paths.tests} ({names}): "
              "evaluate the run again", file=sys.stderr)
    return removed


def write_json(path: Path, data: dict) -> None:
    with atomic_open(path) as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise CheckpointError(f"{path} not found") from error
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}); delete it and re-run") from error


# --- RNG states -----------------------------------------------------------------

def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (the authors set no torch seed, §A.6; we do)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# --- Checkpoints ------------------------------------------------------------------

def digest_path(checkpoint: Path) -> Path:
    """``checkpoint.pt.sha256``: the digest file written with ``checkpoint``."""
    return checkpoint.with_name(checkpoint.name + ".sha256")


class _HashingWriter:
    """A file wrapper hashing the bytes written through it (``torch.save`` needs write, flush)."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.sha256 = handle, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def _read_digest(checkpoint: Path) -> dict | None:
    """The digest file of ``checkpoint`` as a dict, None when absent; CheckpointError if unreadable."""
    path = digest_path(checkpoint)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record.get("sha256"), str):
            raise ValueError("no sha256")
        return record
    except (ValueError, UnicodeDecodeError, AttributeError) as error:
        raise CheckpointError(
            f"checkpoint digest {path} is unreadable ({error}), so {checkpoint} cannot be "
            f"verified; delete both to restart this run from scratch") from error


def _write_digest(checkpoint: Path, sha256: str, previous: str | None) -> None:
    write_json(digest_path(checkpoint), {"file": checkpoint.name, "sha256": sha256,
                                         "previous": previous})


def checkpoint_digest(checkpoint: Path) -> str | None:
    """The sha256 recorded for ``checkpoint`` when it was written (None without a digest file)."""
    record = _read_digest(checkpoint)
    return None if record is None else record["sha256"]


def save_checkpoint(path: Path, state: dict[str, Any]) -> str:
    """Write ``state`` and its digest atomically; return the digest.

    The digest file is written before the checkpoint's rename and also names the
    checkpoint it replaces (``previous``), so a kill between the two leaves a
    checkpoint that its digest file still vouches for.
    """
    payload = {"format": CHECKPOINT_FORMAT, "saved_at": time.time(), "rng": rng_state(), **state}
    try:
        previous = checkpoint_digest(path) if path.exists() else None
    except CheckpointError:
        previous = None  # an unreadable digest file vouches for nothing; it is replaced
    with atomic_open(path, "wb") as handle:
        writer = _HashingWriter(handle)
        torch.save(payload, writer)
        sha256 = writer.sha256.hexdigest()
        _write_digest(path, sha256, previous)
    return sha256


def verify_checkpoint(path: Path) -> str:
    """The sha256 of ``path`` once checked against its digest file; CheckpointError otherwise."""
    record = _read_digest(path)
    if record is None:
        raise CheckpointError(
            f"checkpoint {path} has no digest file ({digest_path(path).name}), so it cannot be "
            "verified (written by an older glam-bench, or the file was deleted); delete "
            f"{path} to restart this run from scratch")
    actual = file_sha256(path)
    if actual == record["sha256"]:
        return actual
    if actual == record.get("previous"):  # killed between the digest's write and the rename
        _write_digest(path, actual, None)
        return actual
    raise CheckpointError(
        f"checkpoint {path} does not match the digest written with it "
        f"({digest_path(path).name}): its bytes changed since (disk or copy damage, or an "
        f"edit). Delete {path} and {digest_path(path).name} to restart this run from scratch")


def changed_settings(saved: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """Run-identity keys whose values differ between a checkpoint's config and the current one.

    Keys that change no result (``config.RESULT_NEUTRAL_KEYS``) and settings blocks the agent
    does not read may differ: the checkpoint resumes (``RunConfig.identity``).
    """
    if saved is None:  # a checkpoint from before configs were recorded: trust it
        return []
    from glam_bench.runtime.config import identity_of  # lazy: runs is imported by config's users

    old, new = identity_of(saved), identity_of(current)
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def settings_key(config: dict[str, Any]) -> str:
    """12 hex digits naming what a run computes: equal for two configs exactly when
    :func:`changed_settings` finds no difference between them."""
    from glam_bench.runtime.config import identity_of  # lazy, as in changed_settings

    text = json.dumps(identity_of(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _move_checkpoint(source: Path, target: Path) -> None:
    """Move a checkpoint and its digest file (checkpoint first: a digest file alone is inert)."""
    os.replace(source, target)
    with contextlib.suppress(FileNotFoundError):
        os.replace(digest_path(source), digest_path(target))


def _move_aside(path: Path, saved_config: dict[str, Any]) -> Path:
    """Move ``path`` to ``<name>.<settings key>.stale``, numbered past any such file already
    there: a checkpoint moved aside is never overwritten."""
    stem = f"{path.name}.{settings_key(saved_config)}"
    target = path.with_name(f"{stem}.stale")
    number = 1
    while target.exists():
        number += 1
        target = path.with_name(f"{stem}.{number}.stale")
    with contextlib.suppress(FileNotFoundError):  # another rank moved it first
        _move_checkpoint(path, target)
    return target


def _restore_matching(path: Path, config: dict[str, Any]) -> Path | None:
    """Move back the newest checkpoint moved aside under ``config``'s settings, if any."""
    key = settings_key(config)
    matching = [*path.parent.glob(f"{path.name}.{key}.stale"),
                *path.parent.glob(f"{path.name}.{key}.*.stale")]
    if not matching:
        return None
    newest = max(matching, key=lambda p: p.stat().st_mtime)
    with contextlib.suppress(FileNotFoundError):  # another rank restored it first
        _move_checkpoint(newest, path)
    print(f"resuming {newest}: it was written under the current run config (moved aside "
          f"after an earlier change, now reverted), restored to {path}", file=sys.stderr)
    return newest


def _read_verified(path: Path) -> dict[str, Any]:
    """The payload of ``path`` once its digest is verified, loaded memory-mapped."""
    predates_digests = _read_digest(path) is None
    sha256 = file_sha256(path) if predates_digests else verify_checkpoint(path)
    try:
        # mmap: storages stay in the page cache, shared by every rank that loads the file,
        # instead of one private copy per process; tensors copied into a model are read once
        payload = torch.load(path, map_location="cpu", weights_only=False, mmap=True,
                             pickle_module=moved_modules.pickle_module)
    except Exception as error:  # torch raises many types for damaged files
        raise CheckpointError(
            f"checkpoint {path} is corrupt or unreadable ({type(error).__name__}: {error}). "
            "Delete it to restart this run from scratch."
        ) from error
    if predates_digests:
        if not isinstance(payload, dict) or payload.get("format") != UNVERIFIED_FORMAT:
            verify_checkpoint(path)  # a checkpoint of today's format without its digest: refused
        print(f"warning: checkpoint {path} was written before checkpoints carried a digest, so "
              "it is read unverified; its next save will carry one", file=sys.stderr)
    elif not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path} has an unknown format; delete it to restart this run"
        )
    payload["sha256"] = sha256
    return payload


def load_checkpoint(path: Path, config: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The checkpoint at ``path``, verified against its digest, or None when there is none.

    It changes nothing global: the RNG states it carries (``payload["rng"]``)
    are restored by whoever continues the run (``training.train`` on resume).
    The payload gains ``sha256``, the verified digest of the file it came from.

    A damaged file, or one without its digest, raises :class:`CheckpointError`
    naming it: resuming from a damaged state silently would poison every later
    number. With ``config`` (the run config as a dict), a checkpoint written
    under different settings (the preset changed since) is moved aside
    (:func:`_move_aside`), said on stderr, and a checkpoint moved aside earlier
    under the current settings is restored in its place (the payload then gains
    ``restored_from``); without one, None is returned: the run starts over
    instead of mixing two configs.
    """
    if path.exists():
        payload = _read_verified(path)
        changed = changed_settings(payload.get("config"), config) if config is not None else []
        if not changed:
            return payload
        stale = _move_aside(path, payload["config"])
        print(f"the run config changed since {path} was written ({', '.join(changed)}): "
              f"moved it to {stale} (resumed if the config is changed back)", file=sys.stderr)
    if config is None:
        return None
    restored = _restore_matching(path, config)
    if restored is None:
        if path.exists() or any(path.parent.glob(f"{path.name}.*.stale")):
            print(f"no checkpoint of the current run config in {path.parent}: training from "
                  "scratch", file=sys.stderr)
        return None
    payload = _read_verified(path)
    if changed_settings(payload.get("config"), config):  # cannot happen unless hand-renamed
        _move_aside(path, payload["config"])
        return None
    payload["restored_from"] = restored
    return payload


# --- Logs on resume -----------------------------------------------------------------

class LogError(GlamBenchError, RuntimeError):
    """A run log that is damaged and cannot be restored; names the file and the fix."""


def _only_rows_after(text: str, extra: str, last_update: int) -> bool:
    """Whether ``extra`` (what follows ``text`` in a log) is whole rows of later updates only."""
    if not text or not extra.endswith("\n"):
        return False
    header = next(csv.reader([text.splitlines()[0]]))
    try:
        updates = [int(row[header.index("update")]) for row in csv.reader(io.StringIO(extra))]
    except (ValueError, IndexError):
        return False
    return all(update > last_update for update in updates)


def restore_logs(logs: dict[Path, str], last_update: int, checkpoint: Path) -> dict[Path, str]:
    """Make every log equal to the text its checkpoint carries; return that text by path.

    A run killed between its log write and its checkpoint write left rows the
    resumed run will write again: dropped quietly. Anything else that differs
    (an emptied, cut, edited or deleted log) is rewritten from the checkpoint
    and said on stderr, so no row is ever lost.
    """
    for path, text in logs.items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == text:
            continue
        if not (current.startswith(text)
                and _only_rows_after(text, current[len(text):], last_update)):
            print(f"{path} did not match the checkpoint {checkpoint} (damaged or deleted): "
                  "restored it from the rows the checkpoint carries", file=sys.stderr)
        if text:
            with atomic_open(path) as handle:
                handle.write(text)
        else:
            path.unlink(missing_ok=True)
    return logs


def checked_log(path: Path, kind: str, last_update: int, checkpoint: Path) -> str:
    """The text of a log that a checkpoint carries no copy of, cut after ``last_update``.

    Checkpoints written before logs were carried cannot restore anything, so the
    log itself must hold every update 1..``last_update`` exactly once, every row
    parseable; otherwise :class:`LogError` names the file.
    """
    from glam_bench.runtime.results import ResultFileError, read_results

    def refuse(problem: str) -> LogError:
        return LogError(
            f"{path}: {problem}, and the checkpoint {checkpoint} carries no copy of the log "
            f"to restore it from (it predates that). Delete {checkpoint} and {path} to "
            "train this run again from scratch"
        )

    if not path.exists():
        if kind == "train_log" and last_update > 0:
            raise refuse("missing")
        return ""
    try:
        frame = read_results(path, kind)
    except ResultFileError as error:
        raise refuse(f"damaged ({error})") from None
    kept = frame["update"] <= last_update
    updates = frame.loc[kept, "update"]
    if kind == "train_log" and sorted(updates) != list(range(1, last_update + 1)):
        raise refuse(f"does not hold updates 1..{last_update} exactly once")
    if kind == "policy_log" and set(updates) != set(range(1, last_update + 1)):
        raise refuse(f"does not hold every update 1..{last_update}")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    text = lines[0] + "".join(line for line, keep in zip(lines[1:], kept) if keep)
    if text != "".join(lines):
        with atomic_open(path) as handle:
            handle.write(text)
    return text
