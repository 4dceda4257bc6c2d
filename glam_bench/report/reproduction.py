"""The reproduction table: every paper number the agents without a language model reach, one row each.

A row is one value of ``paper_reference.csv`` (the published figure [FIG-v2]/[FIG-v1],
or a secondary summary [S-ja]) whose agent needs no language model: the Random and
DRRN bars of the generalisation figure (§E.3), DRRN and Symbolic-PPO at 1.5M frames
on Mixed (§E.4) and Symbolic-PPO's sample-efficiency drop from 4 to 16 distractors
(§E.5). Beside it: ours as the paper computes it (mean over seeds ± 2.576·sd/√n,
§D.1, with the seeds and episodes behind it), the difference, and a verdict:
``inside`` when the paper's value lies in our 99% interval (for a bound such as
"< 0.2", when part of our interval satisfies it), ``outside`` when it does not,
``no interval`` with one seed, and ``missing`` when our results lack the row, with
the reason. Written as ``table_reproduction.{csv,md,tex}`` by ``glam-bench report``;
``docs/reproduction.md`` quotes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from glam_bench.report import items, stats
from glam_bench.report.data import ReportData
from glam_bench.report.items import Series
from glam_bench.report.published import load_paper_reference
from glam_bench.report.tables import latex_table
from glam_bench.runtime.results import atomic_open

#: The item name of the table (its files are ``<ITEM>.{csv,md,tex}``).
ITEM = items.REPRODUCTION_TABLE
#: Agents whose paper numbers a CPU can reproduce: those acting without a language model.
REPRODUCED_AGENTS = items.REPRODUCED_AGENTS
#: A curve value "at x frames" needs runs that reach x, to this fraction (the last
#: update of a 1.5M-frame run stops a few frames short of 1.5M).
REACH = 0.99

COLUMNS: tuple[str, ...] = (
    "item", "experiment", "test", "agent", "version", "what", "paper", "relation", "source",
    "secondary", "ours", "ci99_low", "ci99_high", "n_seeds", "episodes", "difference",
    "verdict", "note",
)
HEADERS: tuple[str, ...] = (
    "Item", "Agent", "Paper", "Source", "Ours: mean ± 99% CI", "Seeds", "Episodes / seed",
    "Ours − paper", "Verdict", "Note",
)


@dataclass(frozen=True)
class Ours:
    """Our value of one row: the §D.1 estimate and what stands behind it, or why it is missing."""

    estimate: stats.Estimate | None
    episodes: str = ""
    missing: str = ""


def paper_rows(agents: tuple[str, ...] = REPRODUCED_AGENTS) -> pd.DataFrame:
    """The rows of ``paper_reference.csv`` of ``agents`` and the items the table measures
    (``items.REPRODUCED_ITEMS``), in file order."""
    reference = load_paper_reference()
    keep = reference["agent"].isin(agents) & reference["item"].isin(items.REPRODUCED_ITEMS)
    return reference[keep].reset_index(drop=True)


# --- Our value of each kind of row ------------------------------------------------------


def _test_value(data: ReportData, experiment: str, agent: str, test: str) -> Ours:
    """A test's success rate (§D.1): per-seed rate, mean ± 99% CI over seeds."""
    if not data.has_test(experiment, agent, test):
        return Ours(None, missing=f"no test episodes {experiment}/{agent}/{test}")
    row = data.test_stat(experiment, agent, test)
    estimate = stats.Estimate(row["mean"], row["ci99_low"], row["ci99_high"],
                              int(row["n_seeds"]), row["note"])
    return Ours(estimate, stats.count_range([row["episodes_min"], row["episodes_max"]]))


def _short_of(runs: pd.DataFrame, frames: float) -> str:
    """Why runs that stop before ``frames`` cannot give the paper's number ('' if they reach it)."""
    reached = int(runs.groupby("seed")["frames"].max().min())
    if reached >= REACH * frames:
        return ""
    return f"runs stop at {reached:,} frames, before the paper's {int(frames):,}"


def _curve_value(data: ReportData, experiment: str, agent: str, frames: float) -> Ours:
    """The smoothed training success rate at ``frames`` (§G: rolling mean of 10 updates per
    seed, its last update at or before ``frames``), mean ± 99% CI over seeds."""
    runs = data.runs(Series(experiment, agent))
    if runs.empty:
        return Ours(None, missing=f"no training log {experiment}/{agent}")
    short = _short_of(runs, frames)
    if short:
        return Ours(None, missing=short)
    smoothed = runs.assign(_smoothed=stats.smooth_runs(runs))
    smoothed = smoothed[smoothed["frames"] <= frames]
    last = smoothed.sort_values("frames").groupby("seed").tail(1)
    return Ours(stats.mean_ci99(last["_smoothed"].to_numpy()))


def _se_change_value(data: ReportData, start: str, end: str, agent: str) -> Ours:
    """Relative change of sample efficiency (§E.5) from ``start`` to ``end``, per seed
    (seeds paired by number), mean ± 99% CI over seeds."""
    limit = items.DISTRACTORS.frame_limit
    per_seed = {}
    for experiment in (start, end):
        runs = data.runs(Series(experiment, agent))
        if runs.empty:
            return Ours(None, missing=f"no training log {experiment}/{agent}")
        short = _short_of(runs, limit)
        if short:
            return Ours(None, missing=f"{experiment}: {short}")
        per_seed[experiment] = stats.sample_efficiency_per_seed(runs, limit)
    seeds = sorted(set(per_seed[start].index) & set(per_seed[end].index))
    if not seeds:
        return Ours(None, missing=f"no seed trained in both {start} and {end}")
    changes = [stats.relative_change(per_seed[end][s], per_seed[start][s]) for s in seeds]
    return Ours(stats.mean_ci99(np.asarray(changes)))


def _ours(data: ReportData, row: pd.Series) -> Ours:
    """Our value of one paper row, by the kind of number it is."""
    if row["item"] == items.GENERALISATION_FIGURE:
        return _test_value(data, row["experiment"], row["agent"], row["test"])
    if row["item"] == items.DISTRACTORS.name:
        start, end = items.DISTRACTORS.se_change
        return _se_change_value(data, start, end, row["agent"])
    if not math.isnan(row["x"]):
        return _curve_value(data, row["experiment"], row["agent"], row["x"])
    return Ours(None, missing="the suite has no estimate of this kind of number")


# --- The table -------------------------------------------------------------------------


def verdict(estimate: stats.Estimate, paper: float, relation: str) -> str:
    """``inside`` when the paper's value (or bound) is consistent with our 99% interval."""
    if math.isnan(estimate.low):
        return "no interval"
    if relation == "<":
        return "inside" if estimate.low < paper else "outside"
    if relation == ">":
        return "inside" if estimate.high > paper else "outside"
    return "inside" if estimate.low <= paper <= estimate.high else "outside"


def _what(row: pd.Series) -> str:
    """What the paper's number is, in words."""
    if row["item"] == items.GENERALISATION_FIGURE:
        panel = next((p.title for p in items.GENERALISATION_PANELS
                      if (p.experiment, p.test) == (row["experiment"], row["test"])), None)
        where = panel or f"{items.label_for_test(row['test'])} of (f)"
        return f"generalisation {where}, {row['version']}"
    if row["item"] == items.DISTRACTORS.name:
        start, end = items.DISTRACTORS.se_change
        return (f"SE change {items.DISTRACTORS.variable[start]:g}→"
                f"{items.DISTRACTORS.variable[end]:g} distractors")
    return f"{row['experiment']} training success at {row['x'] / 1e6:g}M frames"


def reproduction_table(data: ReportData, agents: tuple[str, ...] = REPRODUCED_AGENTS
                       ) -> pd.DataFrame:
    """One row per paper number of ``agents``: the paper's, ours, the difference, the verdict."""
    rows = []
    for _, paper in paper_rows(agents).iterrows():
        ours = _ours(data, paper)
        estimate = ours.estimate
        rows.append({
            "item": paper["item"], "experiment": paper["experiment"], "test": paper["test"],
            "agent": paper["agent"], "version": paper["version"], "what": _what(paper),
            "paper": paper["value"], "relation": paper["relation"], "source": paper["source"],
            "secondary": bool(paper["secondary"]),
            "ours": estimate.value if estimate else math.nan,
            "ci99_low": estimate.low if estimate else math.nan,
            "ci99_high": estimate.high if estimate else math.nan,
            "n_seeds": estimate.n if estimate else 0,
            "episodes": ours.episodes,
            "difference": estimate.value - paper["value"] if estimate else math.nan,
            "verdict": verdict(estimate, paper["value"], paper["relation"]) if estimate
            else "missing",
            "note": ours.missing or (estimate.note if estimate else ""),
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


# --- Formatting ------------------------------------------------------------------------


def _num(value: float, signed: bool = False) -> str:
    if math.isnan(value):
        return "—"
    return (f"{value:+.3f}" if signed else f"{value:.3f}").replace("-", "−")


def _format_row(row: pd.Series) -> list[str]:
    relation = "" if row["relation"] == "=" else row["relation"]
    source = f"{row['source']} (secondary)" if row["secondary"] else row["source"]
    if math.isnan(row["ours"]):
        ours = "—"
    elif math.isnan(row["ci99_low"]):
        ours = f"{_num(row['ours'])} (no interval)"
    else:
        ours = f"{_num(row['ours'])} [{_num(row['ci99_low'])}, {_num(row['ci99_high'])}]"
    return [row["what"], items.agent_label(row["agent"]), f"{relation}{_num(row['paper'])}",
            source, ours, str(int(row["n_seeds"])) if row["n_seeds"] else "—",
            row["episodes"] or "—", _num(row["difference"], signed=True), row["verdict"],
            row["note"]]


def _caption(data: ReportData, table: pd.DataFrame) -> str:
    presets = sorted(set(data.episodes["preset"].astype(str)) | set(data.train["preset"].astype(str)))
    counts = table["verdict"].value_counts()
    tally = ", ".join(f"{counts.get(v, 0)} {v}"
                      for v in ("inside", "outside", "no interval", "missing"))
    agents = ", ".join(items.agent_label(a) for a in REPRODUCED_AGENTS)
    return (f"Paper numbers of the agents without a language model ({agents}) "
            f"against our results (preset {', '.join(presets) or 'none'}): {tally}. Ours: mean "
            "over seeds ± 2.576·sd/√n (99% CI, §D.1); training success at N frames is each "
            "seed's 10-update rolling mean at its last update at or before N (§G); the SE change "
            "pairs seeds by number. Verdict: inside when the paper's value (or bound) lies in our "
            "interval. Paper values read from the published figure (FIG-v2/FIG-v1, ±0.005) or "
            "from secondary summaries (S-ja, unverified).")


def to_markdown(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in _format_row(row)) + " |")
    return "\n".join(lines) + "\n"


def to_latex(table: pd.DataFrame, caption: str) -> str:
    return latex_table(HEADERS, (_format_row(row) for _, row in table.iterrows()), caption,
                       "reproduction", "l")


def write_reproduction_table(data: ReportData, out_dir: Path) -> list[Path]:
    """Write ``table_reproduction.{csv,md,tex}`` into ``out_dir``; returns the paths."""
    table = reproduction_table(data)
    caption = _caption(data, table)
    outputs = {"csv": table.to_csv(index=False), "md": f"{caption}\n\n{to_markdown(table)}",
               "tex": to_latex(table, caption)}
    paths = []
    for suffix, text in outputs.items():
        path = Path(out_dir) / f"{ITEM}.{suffix}"
        with atomic_open(path) as handle:
            handle.write(text)
        paths.append(path)
    return paths
