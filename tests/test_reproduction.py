"""The reproduction table: each paper number of the agents without a language model, ours
(mean ± 99% CI over seeds, §D.1) beside it, the difference and the verdict.

Built on hand-made result rows whose per-seed rates are chosen, so the interval and the
verdict of each row are known in advance: a row inside, a row outside, a missing one, a
curve value at 1.5M frames and one from runs too short to give it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from glam_bench.report import items, stats
from glam_bench.report.build import build_report
from glam_bench.report.data import ReportData
from glam_bench.report.reproduction import reproduction_table, verdict
from tests.fixtures_report import (  # noqa: F401  (pytest fixtures, used by name)
    TEST_RESAMPLES,
    quiet,
    small_results,
)


def _episodes(experiment: str, agent: str, test: str, rates: dict[int, float]) -> pd.DataFrame:
    """100 episodes per seed, the first ``rate`` share of them successful."""
    frames = []
    for seed, rate in rates.items():
        wins = np.arange(100) < round(rate * 100)
        frames.append(pd.DataFrame({
            "experiment": experiment, "agent": agent, "model": "m", "preset": "hand",
            "seed": seed, "test": test, "episode": range(100), "task_kind": "goto",
            "return": np.where(wins, 0.9, 0.0), "success": wins.astype(int), "length": 10}))
    return pd.concat(frames, ignore_index=True)


def _train(experiment: str, agent: str, successes: dict[int, float],
           frames_per_update: int = 50_000, updates: int = 30) -> pd.DataFrame:
    """A flat training log per seed: ``updates`` updates at a constant success rate."""
    frames = []
    for seed, success in successes.items():
        frames.append(pd.DataFrame({
            "experiment": experiment, "agent": agent, "model": "m", "preset": "hand",
            "seed": seed, "update": range(1, updates + 1),
            "frames": np.arange(1, updates + 1) * frames_per_update, "success_rate": success}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    episodes = pd.concat([
        _episodes("mixed", "random", "no_change", {1: 0.14, 2: 0.16}),  # paper 0.15: inside
        _episodes("mixed", "drrn", "no_change", {1: 0.50, 2: 0.52}),    # paper 0.14: outside
    ], ignore_index=True)
    train = pd.concat([
        _train("mixed", "symbolic-ppo", {1: 0.38, 2: 0.41}),            # 30 × 50k = 1.5M
        _train("mixed", "drrn", {1: 0.1, 2: 0.1}, updates=3),           # stops at 150k
        _train("distractors-4", "symbolic-ppo", {1: 0.5, 2: 0.5}),       # SE drop −40%, −36%
        _train("distractors-16", "symbolic-ppo", {1: 0.3, 2: 0.32}),
    ], ignore_index=True)
    data = ReportData(train=train, episodes=episodes, policy=pd.DataFrame(
        columns=["experiment", "agent"]), n_resamples=TEST_RESAMPLES)
    return reproduction_table(data)


def _row(table: pd.DataFrame, item: str, agent: str, test: str = "", version: str = "v2"):
    rows = table[(table["item"] == item) & (table["agent"] == agent) & (table["test"] == test)
                 & (table["version"] == version)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_a_row_inside_our_interval(table):
    row = _row(table, items.GENERALISATION_FIGURE, "random", "no_change")
    half = stats.Z_99 * np.std([0.14, 0.16], ddof=1) / math.sqrt(2)
    assert row["paper"] == 0.15 and row["ours"] == pytest.approx(0.15)
    assert (row["ci99_low"], row["ci99_high"]) == pytest.approx((0.15 - half, 0.15 + half))
    assert row["n_seeds"] == 2 and row["episodes"] == "100"
    assert row["verdict"] == "inside"


def test_a_row_outside_our_interval(table):
    row = _row(table, items.GENERALISATION_FIGURE, "drrn", "no_change")
    assert row["difference"] == pytest.approx(0.51 - 0.14)
    assert row["verdict"] == "outside"


def test_a_row_without_results_is_missing(table):
    row = _row(table, items.GENERALISATION_FIGURE, "drrn", "french")
    assert row["verdict"] == "missing" and math.isnan(row["ours"])
    assert row["note"] == "no test episodes gotolocal/drrn/french"
    # every paper value of these agents has its row, v1 included
    assert len(table) == len(table.drop_duplicates(["item", "experiment", "test", "agent",
                                                    "version"]))
    assert set(table["version"]) >= {"v1", "v2"}


def test_curve_value_at_the_papers_frame_count(table):
    row = _row(table, items.MIXED_CURVES.name, "symbolic-ppo", version="v2")
    assert row["paper"] == 0.4 and row["relation"] == "≈"
    assert row["ours"] == pytest.approx(0.395) and row["verdict"] == "inside"
    short = _row(table, items.MIXED_CURVES.name, "drrn", version="v2")
    assert short["verdict"] == "missing"
    assert short["note"] == "runs stop at 150,000 frames, before the paper's 1,500,000"


def test_se_change_pairs_seeds_and_uses_the_papers_interval(table):
    row = _row(table, items.DISTRACTORS.name, "symbolic-ppo", "se_change_vs_distractors-4")
    changes = [0.3 / 0.5 - 1, 0.32 / 0.5 - 1]
    half = stats.Z_99 * np.std(changes, ddof=1) / math.sqrt(2)
    assert row["paper"] == -0.38 and row["ours"] == pytest.approx(-0.38)
    assert (row["ci99_low"], row["ci99_high"]) == pytest.approx((-0.38 - half, -0.38 + half))
    assert row["verdict"] == "inside"


@pytest.mark.parametrize("relation, low, high, expected", [
    ("=", 0.1, 0.2, "inside"), ("=", 0.16, 0.2, "outside"), ("≈", 0.1, 0.14, "outside"),
    ("<", 0.1, 0.3, "inside"), ("<", 0.2, 0.3, "outside"),
])
def test_verdict_of_a_value_and_of_a_bound(relation, low, high, expected):
    estimate = stats.Estimate((low + high) / 2, low, high, 2)
    assert verdict(estimate, 0.15 if relation != "<" else 0.2, relation) == expected


def test_report_writes_it_beside_the_figures(small_results, tmp_path):
    summary = build_report(small_results, tmp_path / "out", only=(items.REPRODUCTION_TABLE,),
                           progress=False, n_resamples=TEST_RESAMPLES, log=quiet)
    assert sorted(p.name for p in summary.built[items.REPRODUCTION_TABLE]) == [
        "table_reproduction.csv", "table_reproduction.md", "table_reproduction.tex"]
    text = (tmp_path / "out" / "table_reproduction.md").read_text(encoding="utf-8")
    assert "| generalisation (a) Training tasks, v2 | Random | 0.150 | FIG-v2 |" in text
