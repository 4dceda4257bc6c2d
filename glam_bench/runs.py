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
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import platform
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from glam_bench.errors import GlamBenchError
from glam_bench.results import atomic_open

CHECKPOINT_FORMAT = 1


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

    def test_file(self, test: str) -> Path:
        return self.results / "tests" / f"{test}.csv"


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
            cwd=Path(__file__).parent, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment_info() -> dict[str, str]:
    """Versions and machine, recorded in run.json for provenance."""
    import gymnasium
    import minigrid
    import transformers

    return {
        "python": platform.python_version(), "torch": torch.__version__,
        "transformers": transformers.__version__, "gymnasium": gymnasium.__version__,
        "minigrid": minigrid.__version__, "machine": platform.machine(),
        "platform": platform.platform(), "git_revision": git_revision(),
    }


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

def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` atomically: a kill mid-write leaves the previous checkpoint intact."""
    payload = {"format": CHECKPOINT_FORMAT, "saved_at": time.time(), "rng": rng_state(), **state}
    with atomic_open(path, "wb") as handle:
        torch.save(payload, handle)


#: Run settings that may differ between a checkpoint and its resume: where files live, the
#: preset's name and the device change nothing the run computes.
RESUME_INSENSITIVE_KEYS = ("preset", "results_dir", "work_dir", "models_dir", "device")


def changed_settings(saved: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """Run-config keys whose values differ between a checkpoint's config and the current one."""
    if saved is None:  # a checkpoint from before configs were recorded: trust it
        return []
    from glam_bench.config import RunConfig  # lazy: runs is imported by config's users

    # a key added to RunConfig after the checkpoint was written had its default then
    defaults = {f.name: f.default for f in dataclasses.fields(RunConfig)}
    keys = (set(saved) | set(current)) - set(RESUME_INSENSITIVE_KEYS)
    return sorted(k for k in keys if saved.get(k, defaults.get(k)) != current.get(k))


def load_checkpoint(path: Path, config: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or None when there is none; restores global RNG states.

    A corrupt file raises :class:`CheckpointError` naming it: resuming from a
    damaged state silently would poison every later number. With ``config``
    (the run config as a dict), a checkpoint written under different settings
    (the preset changed since) is moved to ``<path>.stale``, said on stderr,
    and None is returned: the run starts over instead of mixing two configs.
    """
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for damaged files
        raise CheckpointError(
            f"checkpoint {path} is corrupt or unreadable ({type(error).__name__}: {error}). "
            "Delete it to restart this run from scratch."
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path} has an unknown format; delete it to restart this run"
        )
    changed = changed_settings(payload.get("config"), config) if config is not None else []
    if changed:
        stale = path.with_name(path.name + ".stale")
        with contextlib.suppress(FileNotFoundError):  # another rank moved it first
            os.replace(path, stale)
        print(f"the run config changed since {path} was written ({', '.join(changed)}): "
              f"moved it to {stale}; training from scratch", file=sys.stderr)
        return None
    set_rng_state(payload["rng"])
    return payload


def truncate_log(path: Path, last_update: int) -> None:
    """Drop log rows after ``last_update``: a run killed between its log write and
    its checkpoint write must not keep rows the resumed run will write again."""
    if not path.exists():
        return
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    if not rows:
        return
    column = rows[0].index("update")
    kept = [rows[0]] + [row for row in rows[1:] if row and int(row[column]) <= last_update]
    if len(kept) != len(rows):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(kept)
        with atomic_open(path) as handle:
            handle.write(buffer.getvalue())
