"""The aggregated numbers behind every figure, as tidy CSVs beside the figures.

A reader can check any bar or curve against these files, or re-plot them
elsewhere, without re-reading the raw per-episode results. They come from the
same cached aggregates of :class:`ReportData` the figures draw.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from glam_bench.report import items, stats
from glam_bench.report.data import ReportData
from glam_bench.runtime.results import atomic_open

#: Columns of ``summary_curves.csv``.
CURVE_COLUMNS = ["item", "experiment", "agent", "frames", "mean", "std", "n_runs"]


def _identity(data: ReportData, experiment: str, agent: str, test: str) -> dict[str, str]:
    rows = data.test_rows(experiment, agent, test)
    return {c: " ".join(sorted(rows[c].astype(str).unique())) for c in ("preset", "model")}


def tests_summary(data: ReportData) -> pd.DataFrame:
    """One row per (experiment, agent, test): both statistics, with preset and model."""
    summary = data.test_summary
    identity = [_identity(data, *key) for key in summary[stats.TEST_KEYS].itertuples(index=False)]
    return pd.concat([summary.reset_index(drop=True), pd.DataFrame(identity)], axis=1)


def sample_efficiency_summary(data: ReportData) -> pd.DataFrame:
    """Sample efficiency (§E.5) of every series of every curve study that has training logs."""
    rows = []
    for study in items.CURVE_STUDIES.values():
        for series in study.series:
            runs = data.runs(series)
            if runs.empty:
                continue
            per_seed = stats.sample_efficiency_per_seed(runs, study.frame_limit)
            estimate = stats.mean_ci99(per_seed.to_numpy())
            rows.append({
                "item": study.name, "experiment": series.experiment, "agent": series.agent,
                "frame_limit": study.frame_limit, "n_seeds": estimate.n, "se": estimate.value,
                "ci99_low": estimate.low, "ci99_high": estimate.high, "note": estimate.note,
                "per_seed": " ".join(f"{s}:{v:.4f}" for s, v in per_seed.items()),
            })
    frame = pd.DataFrame(rows)
    if not frame.empty:  # None (no limit) would otherwise turn every limit into a float
        frame["frame_limit"] = frame["frame_limit"].astype("Int64")
    return frame


def curves_summary(data: ReportData) -> pd.DataFrame:
    """Every plotted learning curve (§G): item, series, frames, mean, std, n_runs."""
    frames = []
    for study in items.CURVE_STUDIES.values():
        for series in study.series:
            if data.runs(series).empty:
                continue
            curve = data.curve(series, study.frame_limit)
            frames.append(curve.assign(item=study.name, experiment=series.experiment,
                                       agent=series.agent))
    if not frames:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[CURVE_COLUMNS]


def write_summaries(data: ReportData, out_dir: Path) -> list[Path]:
    """Write the summary CSVs into ``out_dir``; returns their paths."""
    tables = (tests_summary(data), data.seed_rates, data.task_kinds,
              sample_efficiency_summary(data), curves_summary(data))
    paths = []
    for name, table in zip(items.SUMMARY_FILES, tables, strict=True):
        path = out_dir / name
        with atomic_open(path) as handle:
            table.to_csv(handle, index=False)
        paths.append(path)
    return paths
