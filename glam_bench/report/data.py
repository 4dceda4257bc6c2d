"""Find, read and check every result file, and cache the aggregates figures share.

Discovery does not depend on the directory layout: any ``train_log.csv``,
``policy_log.csv`` and ``tests/*.csv`` under the results folder is read, and
rows say where they come from through their columns. Everything is read and
validated before any figure is drawn, so a malformed file stops the report
before it can produce a figure from partial data.

Only finished runs are read: a file counts when its run directory (the folder
of ``train_log.csv``, the parent of ``tests/``) holds ``done.json``. A
training log must hold updates 1..N of its ``done.json``; a per-episode CSV
must hold as many episodes as its evaluation recorded beside it
(``tests/<test>.json``), have the bytes that record's digest names, and have
evaluated the checkpoint (or, untrained, the config) its run's ``done.json`` names;
or, in the committed cache, match ``MANIFEST.json``, which is verified whenever
the folder has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from glam_bench.pipeline.cache import MANIFEST_NAME, REPORT_GLOBS, report_glob, verify_manifest
from glam_bench.errors import GlamBenchError
from glam_bench.report import fidelity, stats
from glam_bench.report.items import Need, Series
from glam_bench.runtime.results import (
    EVALUATED_KEYS,
    SCHEMAS,
    ResultFileError,
    episode_record,
    file_sha256,
    read_result_json,
    read_results,
    rerun_hint,
)

#: Glob pattern of each result kind, relative to the results folder.
PATTERNS: dict[str, str] = {kind: REPORT_GLOBS[kind]
                             for kind in ("train_log", "policy_log", "episodes")}

#: Columns that make a row unique within each kind; a repeat means two copies of a run.
UNIQUE_KEYS: dict[str, list[str]] = {
    "train_log": ["experiment", "agent", "seed", "update"],
    "policy_log": ["experiment", "agent", "seed", "update", "prompt_id", "action"],
    "episodes": ["experiment", "agent", "seed", "test", "episode"],
}


class ReportError(GlamBenchError, ValueError):
    """A report that cannot be built as asked (nothing found, unknown preset or item)."""


def run_directory(path: Path, kind: str) -> Path:
    """The run directory a result file belongs to."""
    return path.parent.parent if kind == "episodes" else path.parent


def discover(results_dir: Path) -> dict[str, list[Path]]:
    """Every result file of a finished run under ``results_dir`` by kind, in a stable order."""
    return {kind: [p for p in report_glob(results_dir, kind)
                   if (run_directory(p, kind) / "done.json").is_file()]
            for kind in PATTERNS}


def unfinished_runs(results_dir: Path) -> list[Path]:
    """Run directories with result files but no ``done.json`` (still training, or killed)."""
    return sorted({run_directory(p, kind) for kind in PATTERNS
                   for p in report_glob(results_dir, kind)
                   if not (run_directory(p, kind) / "done.json").is_file()})


def _done(run_dir: Path) -> dict:
    """A finished run's ``done.json``."""
    path = run_dir / "done.json"
    done = read_result_json(path)
    if "updates" not in done:
        raise ResultFileError(f"{path}: no update count; {rerun_hint(path)}")
    return done


def _finished_updates(path: Path) -> int | None:
    """The update count a run's ``done.json`` records (None when it records none)."""
    updates = _done(path.parent)["updates"]
    return None if updates is None else int(updates)


def _check_evaluated(path: Path, record: dict) -> None:
    """Refuse a test file its record does not describe, or that evaluated another policy than
    the one its run's ``done.json`` names (the run was trained again since)."""
    rerun = f"re-run its evaluation (glam-bench evaluate --run {path.parent.parent} " \
            f"--test {path.stem})"
    if "csv_sha256" in record and record["csv_sha256"] != file_sha256(path):
        raise ResultFileError(f"{path}: its bytes differ from those its evaluation record "
                              f"{path.with_suffix('.json').name} describes; {rerun}")
    done = _done(path.parent.parent)
    for key in EVALUATED_KEYS:
        if record.get(key) != done.get(key):
            what = key.removesuffix("_sha256")
            raise ResultFileError(
                f"{path}: evaluated the {what} {str(record.get(key))[:12]}, but the run's "
                f"done.json names the {what} {str(done.get(key))[:12]} (the run was trained "
                f"again since); {rerun}")


def _check_complete(frame: pd.DataFrame, path: Path, kind: str, verified: bool) -> None:
    """Refuse a file that parses but lost rows: a cut at a line boundary leaves valid CSV."""
    if kind == "train_log":
        updates = _finished_updates(path)
        if updates is not None and sorted(frame["update"]) != list(range(1, updates + 1)):
            raise ResultFileError(
                f"{path}: holds {len(frame)} update rows, but done.json records updates "
                f"1..{updates}; the log was damaged, re-run its training (it restores the log "
                "from its checkpoint)")
    elif kind == "episodes":
        record = episode_record(path)
        if record is None and not verified:
            raise ResultFileError(
                f"{path}: no evaluation record ({path.with_suffix('.json').name}) beside it, "
                "so its episode count cannot be checked; re-run its evaluation")
        if record is not None and int(record["episodes"]) != len(frame):
            raise ResultFileError(
                f"{path}: holds {len(frame)} episodes, but its evaluation recorded "
                f"{record['episodes']}; the file was cut or changed, re-run its evaluation")
        if record is not None:
            _check_evaluated(path, record)


def _read_all(paths: list[Path], kind: str, verified: bool = False) -> pd.DataFrame:
    """Read, check and stack files of one kind, adding a ``source`` column for error messages."""
    if not paths:
        return pd.DataFrame(columns=[*SCHEMAS[kind], "source"])
    frames = []
    for path in paths:
        frame = read_results(path, kind)
        _check_complete(frame, path, kind, verified)
        frames.append(frame.assign(source=str(path)))
    return pd.concat(frames, ignore_index=True)


def _refuse_duplicates(frame: pd.DataFrame, kind: str) -> None:
    """Raise when the same run rows appear twice: averaging them would double-count."""
    keys = UNIQUE_KEYS[kind]
    repeated = frame.duplicated(keys, keep=False)
    if not repeated.any():
        return
    first = frame[repeated].iloc[0]
    same = frame[repeated & (frame[keys] == first[keys]).all(axis=1)]
    files = " and ".join(dict.fromkeys(same["source"]))
    where = ", ".join(f"{k}={first[k]}" for k in keys)
    raise ResultFileError(f"{files}: {kind} rows repeated ({where}); keep one copy of each run")


@dataclass
class ReportData:
    """Validated result rows of one report, with the aggregates computed once.

    Figures and tables read their numbers from here, so the number a figure
    draws and the one written to the summary CSVs are the same object.
    """

    train: pd.DataFrame
    episodes: pd.DataFrame
    policy: pd.DataFrame
    n_resamples: int = stats.BOOTSTRAP_RESAMPLES
    #: Fidelity switches of each run and test protocols (``report.fidelity``), for captions.
    settings: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=fidelity.SETTINGS_COLUMNS))
    protocols: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=fidelity.PROTOCOL_COLUMNS))
    bootstrap_seed: int = stats.BOOTSTRAP_SEED
    _curves: dict = field(default_factory=dict, repr=False)

    # --- availability ----------------------------------------------------------

    @cached_property
    def available(self) -> set[Need]:
        """Every (kind, experiment, agent[, test]) group that has rows."""
        return (
            {Need("train_log", *key) for key in self._train_index}
            | {Need("policy_log", *key) for key in self._policy_index}
            | {Need("episodes", *key) for key in self._episode_index}
        )

    def missing(self, needs: list[Need]) -> list[Need]:
        """The needs with no rows, in the order given."""
        return [n for n in needs if n not in self.available]

    def drawable(self, needs: list[Need]) -> bool:
        """Whether an item with these needs has anything to draw: one group is enough
        (an item without needs, drawn from no result file, always is)."""
        return not needs or len(self.missing(needs)) < len(needs)

    def present_series(self, series: tuple[Series, ...]) -> tuple[Series, ...]:
        """The series that have training-log rows with a success rate, in the order given
        (a run too short for any episode to end has no curve or sample efficiency yet)."""
        return tuple(s for s in series if Need("train_log", s.experiment, s.agent) in self.available
                     and self.runs(s)["success_rate"].notna().any())

    def has_test(self, experiment: str, agent: str, test: str) -> bool:
        """Whether one test of one agent has episodes."""
        return Need("episodes", experiment, agent, test) in self.available

    # --- selections ------------------------------------------------------------
    # Row positions per group, computed once: filtering 10^5 string rows per
    # lookup would dominate the report's run time.

    @cached_property
    def _train_index(self) -> dict:
        return self.train.groupby(["experiment", "agent"], sort=False).indices

    @cached_property
    def _episode_index(self) -> dict:
        return self.episodes.groupby(["experiment", "agent", "test"], sort=False).indices

    @cached_property
    def _policy_index(self) -> dict:
        return self.policy.groupby(["experiment", "agent"], sort=False).indices

    @staticmethod
    def _select(frame: pd.DataFrame, index: dict, key: tuple) -> pd.DataFrame:
        return frame.iloc[index[key]] if key in index else frame.iloc[0:0]

    def runs(self, series: Series) -> pd.DataFrame:
        """Training-log rows of one series (all its seeds)."""
        return self._select(self.train, self._train_index, (series.experiment, series.agent))

    def test_rows(self, experiment: str, agent: str, test: str) -> pd.DataFrame:
        """Per-episode rows of one test of one agent."""
        return self._select(self.episodes, self._episode_index, (experiment, agent, test))

    def policy_rows(self, series: Series) -> pd.DataFrame:
        """Policy-log rows of one series."""
        return self._select(self.policy, self._policy_index, (series.experiment, series.agent))

    # --- aggregates ------------------------------------------------------------

    @cached_property
    def test_summary(self) -> pd.DataFrame:
        """:func:`stats.summarise_tests` over every test of every agent."""
        return stats.summarise_tests(self.episodes, self.n_resamples, self.bootstrap_seed)

    @cached_property
    def seed_rates(self) -> pd.DataFrame:
        """:func:`stats.seed_success_rates` over every test of every agent."""
        return stats.seed_success_rates(self.episodes)

    @cached_property
    def task_kinds(self) -> pd.DataFrame:
        """:func:`stats.task_kind_rates` over every test of every agent."""
        return stats.task_kind_rates(self.episodes)

    @cached_property
    def _summary_rows(self) -> dict:
        keys = self.test_summary[stats.TEST_KEYS].itertuples(index=False)
        return {tuple(k): i for i, k in enumerate(keys)}

    def test_stat(self, experiment: str, agent: str, test: str) -> pd.Series:
        """The summary row of one test; KeyError naming it when absent."""
        position = self._summary_rows.get((experiment, agent, test))
        if position is None:
            raise KeyError(f"no test episodes for {experiment}/{agent}/{test}")
        return self.test_summary.iloc[position]

    def curve(self, series: Series, limit: int | None) -> pd.DataFrame:
        """:func:`stats.learning_curve` of one series, cached."""
        key = (series.experiment, series.agent, limit)
        if key not in self._curves:
            self._curves[key] = stats.learning_curve(self.runs(series), limit)
        return self._curves[key]

    def sample_efficiency(self, series: Series, limit: int | None) -> stats.Estimate:
        """:func:`stats.sample_efficiency` of one series."""
        return stats.sample_efficiency(self.runs(series), limit)


def load_report_data(
    results_dir: Path,
    preset: str | None = None,
    n_resamples: int = stats.BOOTSTRAP_RESAMPLES,
    bootstrap_seed: int = stats.BOOTSTRAP_SEED,
) -> ReportData:
    """Read every result file under ``results_dir``; raise on the first bad one.

    ``preset`` keeps only rows of that scale preset. Repeated run rows (the same
    run found in two files) raise :class:`ResultFileError` naming both files. A
    folder with ``MANIFEST.json`` (the committed cache) is verified against it
    first. :class:`ReportError` when there is nothing to report: no result file
    of a finished run, or none of ``preset``.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ReportError(f"{results_dir}: results folder not found")
    verified = (results_dir / MANIFEST_NAME).is_file()
    if verified:
        verify_manifest(results_dir)
    found = discover(results_dir)
    if not any(found.values()):
        waiting = unfinished_runs(results_dir)
        hint = (f" ({len(waiting)} unfinished run(s) without done.json, e.g. {waiting[0]})"
                if waiting else "")
        raise ReportError(f"{results_dir}: no result files of finished runs found{hint}; "
                          "train and evaluate first, or point --results at a results folder")
    frames, presets = {}, set()
    for kind, paths in found.items():
        frame = _read_all(paths, kind, verified)
        presets.update(frame["preset"].unique())
        if preset is not None:
            frame = frame[frame["preset"] == preset].reset_index(drop=True)
        _refuse_duplicates(frame, kind)
        frames[kind] = frame
    if preset is not None and not any(len(frame) for frame in frames.values()):
        raise ReportError(f"{results_dir}: no results of preset {preset!r}; the results found "
                          f"are of preset(s) {', '.join(sorted(map(str, presets)))}")
    return ReportData(
        train=frames["train_log"],
        episodes=frames["episodes"],
        policy=frames["policy_log"],
        n_resamples=n_resamples,
        bootstrap_seed=bootstrap_seed,
        settings=fidelity.read_run_settings(results_dir, preset),
        protocols=fidelity.read_protocols(results_dir),
    )
