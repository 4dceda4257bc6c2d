"""``glam-bench status``: progress, frames/s and ETA of every run under a results folder.

Reads only what training already writes: ``run.json`` (the resolved config, so
the run's total frames), the last row of ``train_log.csv`` (frames so far and
elapsed seconds), ``done.json`` (finished) and the run's lock: a run neither done
nor held by a live process is *stopped* (killed, preempted, failed), whatever its
files say. Safe to run while jobs write.
A run whose files cannot be read is one row naming the file and the fix; the
other runs are listed as usual.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from glam_bench.agents.families import schedule
from glam_bench.runtime.config import RunConfig
from glam_bench.runtime.results import ResultFileError, read_result_json, read_result_text, rerun_hint
from glam_bench.runtime.runlock import lock_holder

#: What a run is doing: written, being trained by a live process, or neither.
STATES = ("done", "running", "stopped")


@dataclass(frozen=True)
class RunStatus:
    """Where one run stands."""

    run: str
    frames: int
    total_frames: int
    frames_per_s: float | None
    done: bool
    #: One of :data:`STATES`.
    state: str = "stopped"
    #: Why the run's files cannot be read (the file and the fix); None for a readable run.
    problem: str | None = None

    @property
    def eta_s(self) -> float | None:
        """Seconds to the last frame at the run's mean rate so far (0 when done)."""
        if self.done:
            return 0.0
        if not self.frames_per_s:
            return None
        return max(self.total_frames - self.frames, 0) / self.frames_per_s


def last_row(path: Path) -> dict | None:
    """The last complete row of a CSV log, or None when it has none yet."""
    if not path.is_file():
        return None
    try:
        rows = list(csv.DictReader(io.StringIO(read_result_text(path))))
    except csv.Error as error:
        raise ResultFileError(f"{path}: not a CSV log ({error}); {rerun_hint(path)}") from None
    return rows[-1] if rows else None


def _number(row: dict, column: str, path: Path) -> float:
    try:
        return float(row[column])
    except (KeyError, TypeError, ValueError):
        raise ResultFileError(f"{path}: no number in column {column!r} of its last row; "
                              f"{rerun_hint(path)}") from None


def run_status(run_dir: Path, results_dir: Path) -> RunStatus:
    """Where the run in ``run_dir`` stands; ResultFileError naming a file it cannot read."""
    run_json = run_dir / "run.json"
    record = read_result_json(run_json)
    try:
        config = RunConfig.from_dict(record["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise ResultFileError(f"{run_json}: no usable run config ({error!r}); "
                              f"{rerun_hint(run_json)}") from None
    plan = schedule(config)
    total = plan.num_updates * plan.frames_per_update
    log = run_dir / "train_log.csv"
    row = last_row(log)
    frames = int(_number(row, "frames", log)) if row else 0
    duration = _number(row, "duration", log) if row else 0.0
    done = (run_dir / "done.json").is_file()
    if done:
        frames = max(frames, int(_number(read_result_json(run_dir / "done.json"), "frames",
                                         run_dir / "done.json")))
    rate = frames / duration if duration > 0 else None
    state = "done" if done else "running" if lock_holder(run_dir) is not None else "stopped"
    return RunStatus(str(run_dir.relative_to(results_dir)), frames, total, rate, done, state)


def _broken(run_dir: Path, results_dir: Path, error: ResultFileError) -> RunStatus:
    return RunStatus(str(run_dir.relative_to(results_dir)), 0, 0, None, False, problem=str(error))


def collect_status(results_dir: str | Path) -> list[RunStatus]:
    """The status of every run (a folder with ``run.json``) under ``results_dir``, sorted by path;
    a run that cannot be read is listed with its problem."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ResultFileError(f"results folder {results_dir} not found; pass the preset's results_dir")
    statuses = []
    for path in sorted(results_dir.rglob("run.json")):
        try:
            statuses.append(run_status(path.parent, results_dir))
        except ResultFileError as error:
            statuses.append(_broken(path.parent, results_dir, error))
    return statuses


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    hours, rest = divmod(int(round(seconds)), 3600)
    return f"{hours}h{rest // 60:02d}m"


def status_table(statuses: list[RunStatus]) -> str:
    """A plain-text table: run, progress, state, frames/s, ETA (at its rate, once resumed)."""
    lines = [f"{'run':<40} {'frames':>21} {'done':>6} {'state':>8} {'frames/s':>9} {'ETA':>8}"]
    for s in statuses:
        if s.problem is not None:
            lines.append(f"{s.run:<40} unreadable: {' '.join(s.problem.split())}")
            continue
        share = s.frames / s.total_frames if s.total_frames else 1.0
        rate = f"{s.frames_per_s:.1f}" if s.frames_per_s else "-"
        eta = "done" if s.done else format_duration(s.eta_s)
        lines.append(f"{s.run:<40} {s.frames:>10}/{s.total_frames:<10} {share:>6.1%} {s.state:>8} "
                     f"{rate:>9} {eta:>8}")
    return "\n".join(lines)
