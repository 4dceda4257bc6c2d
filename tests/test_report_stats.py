"""Statistics of the report against values worked out by hand (§A.4, §D.1, §E.5, §G)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from glam_bench.report import items, stats
from glam_bench.report.published import load_paper_reference, paper_value, paper_values
from glam_bench.report.tables import latex_escape


def _episodes(returns_by_seed: dict[int, list[float]], test: str = "no_change") -> pd.DataFrame:
    rows = [
        {"experiment": "mixed", "agent": "gflan", "model": "m", "preset": "p", "seed": seed,
         "test": test, "episode": i, "task_kind": "goto", "return": r, "success": int(r > 0),
         "length": 10}
        for seed, returns in returns_by_seed.items() for i, r in enumerate(returns)
    ]
    return pd.DataFrame(rows)


def _train(success_by_seed: dict[int, list[float]], frames_per_update: int = 10) -> pd.DataFrame:
    rows = [
        {"experiment": "mixed", "agent": "gflan", "seed": seed, "update": u + 1,
         "frames": (u + 1) * frames_per_update, "success_rate": v}
        for seed, values in success_by_seed.items() for u, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


# --- success (§A.4) ---------------------------------------------------------------


def test_success_is_a_positive_return():
    success = stats.is_success([0.0, 0.5, -0.1, 1e-9, 0.0])
    assert success.tolist() == [False, True, False, True, False]


def test_seed_success_rates_by_hand():
    frame = _episodes({1: [0.0, 0.5, 0.7, 0.0], 2: [0.2, 0.3, 0.4, 0.0]})
    rates = stats.seed_success_rates(frame).set_index("seed")
    assert rates.loc[1, "success_rate"] == pytest.approx(0.5)
    assert rates.loc[2, "success_rate"] == pytest.approx(0.75)
    assert rates["n_episodes"].tolist() == [4, 4]
    assert rates.loc[1, "mean_return"] == pytest.approx(0.3)


# --- the paper's 99% interval (§D.1) ---------------------------------------------


def test_z_is_the_two_sided_99_percent_quantile():
    assert stats.Z_99 == pytest.approx(norm.ppf(0.995), abs=1e-11)


def test_mean_ci99_two_seeds_by_hand():
    # mean 0.625; sd(ddof=1) = 0.25/√2; half width = 2.575829303549 · (0.25/√2)/√2 = 2.5758… · 0.125
    estimate = stats.mean_ci99([0.5, 0.75])
    assert estimate.value == pytest.approx(0.625)
    assert estimate.half_width == pytest.approx(0.321978662943625)
    assert (estimate.low, estimate.high) == pytest.approx((0.303021337056375, 0.946978662943625))
    assert estimate.n == 2 and estimate.note == ""


def test_mean_ci99_three_seeds_by_hand():
    # mean 0.4, sd(ddof=1) 0.2, half width 2.575829303549 · 0.2 / √3 = 0.29743114835810…
    estimate = stats.mean_ci99([0.2, 0.4, 0.6])
    assert estimate.value == pytest.approx(0.4)
    assert estimate.half_width == pytest.approx(0.2974311483581083)


def test_mean_ci99_one_seed_has_no_interval_and_says_so():
    estimate = stats.mean_ci99([0.7])
    assert estimate.value == 0.7
    assert math.isnan(estimate.low) and math.isnan(estimate.high)
    assert "1 seed" in estimate.note


def test_mean_ci99_refuses_no_values():
    with pytest.raises(ValueError):
        stats.mean_ci99([])


# --- IQM and the stratified bootstrap ---------------------------------------------


def test_iqm_trims_a_quarter_each_side():
    assert stats.iqm([1, 2, 3, 4, 5, 6, 7, 100]) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert stats.iqm([0.2, 0.9]) == pytest.approx(0.55)  # < 4 values: plain mean


def test_iqm_bootstrap_is_reproducible_and_brackets_the_value():
    rng = np.random.default_rng(3)
    samples = [rng.random(200) < 0.3, rng.random(200) < 0.4]
    first = stats.iqm_bootstrap(samples, n_resamples=500, seed=11)
    again = stats.iqm_bootstrap(samples, n_resamples=500, seed=11)
    assert first == again
    assert first.low < first.value < first.high
    assert first.value == pytest.approx((samples[0].mean() + samples[1].mean()) / 2)


def test_iqm_bootstrap_resamples_within_each_seed():
    # Seed 1 always succeeds, seed 2 never: redrawing episodes inside each seed keeps
    # the per-seed rates at 1 and 0, so every resample's IQM is 0.5. A pooled
    # bootstrap (mixing seeds) would spread around 0.5 instead.
    estimate = stats.iqm_bootstrap([np.ones(50, bool), np.zeros(50, bool)], n_resamples=300)
    assert (estimate.low, estimate.value, estimate.high) == (0.5, 0.5, 0.5)


def test_iqm_bootstrap_constant_and_tiny_samples():
    zero = stats.iqm_bootstrap([np.zeros(30), np.zeros(30)])
    assert (zero.low, zero.value, zero.high) == (0.0, 0.0, 0.0)
    tiny = stats.iqm_bootstrap([np.array([1.0]), np.array([0.0])])
    assert tiny.value == 0.5 and math.isnan(tiny.low)


def test_summarise_tests_by_hand():
    frame = pd.concat([_episodes({1: [0.0, 0.5, 0.7, 0.0], 2: [0.2, 0.3, 0.4, 0.0]}),
                       _episodes({1: [0.0, 0.9]}, test="french")])
    summary = stats.summarise_tests(frame, n_resamples=200).set_index("test")
    row = summary.loc["no_change"]
    assert row["n_seeds"] == 2 and row["seeds"] == "1 2" and row["episodes_min"] == 4
    assert row["mean"] == pytest.approx(0.625)
    assert row["ci99_half_width"] == pytest.approx(0.321978662943625)
    assert row["iqm"] == pytest.approx(0.625)
    one_seed = summary.loc["french"]
    assert one_seed["n_seeds"] == 1 and math.isnan(one_seed["ci99_low"])
    assert one_seed["note"] == stats.NO_INTERVAL_NOTE


def test_task_kind_rates_average_seeds_first():
    frame = _episodes({1: [1.0, 0.0, 1.0, 1.0], 2: [0.0, 0.0]})
    frame["task_kind"] = ["goto", "goto", "open", "open", "goto", "open"]
    rates = stats.task_kind_rates(frame).set_index("task_kind")
    assert rates.loc["goto", "mean"] == pytest.approx((0.5 + 0.0) / 2)
    assert rates.loc["open", "mean"] == pytest.approx((1.0 + 0.0) / 2)
    assert rates.loc["open", "n_episodes"] == 3


def test_relative_change():
    assert stats.relative_change(0.87, 0.89) == pytest.approx(-0.02 / 0.89)
    assert math.isnan(stats.relative_change(0.3, 0.0))


# --- curves and sample efficiency (§G, §E.5) ----------------------------------------


def test_learning_curve_by_hand():
    train = _train({1: [0, 1, 1, 0], 2: [1, 1, 1, 1]})
    curve = stats.learning_curve(train, limit=30)
    # seed 1 rolling means (window 10, from the first update): 0, 1/2, 2/3; seed 2: 1, 1, 1
    assert curve["frames"].tolist() == [10, 20, 30]
    assert curve["mean"].tolist() == pytest.approx([0.5, 0.75, 5 / 6])
    # sd(ddof=1) of two values a, b is |a − b| / √2
    assert curve["std"].tolist() == pytest.approx([1 / 2**0.5, 0.5 / 2**0.5, (1 / 3) / 2**0.5])
    assert curve["n_runs"].tolist() == [2, 2, 2]


def test_rolling_window_is_ten_updates():
    train = _train({1: list(range(1, 13))})
    smoothed = stats.smooth_runs(train)
    assert smoothed.iloc[-1] == pytest.approx(np.mean(range(3, 13)))  # updates 3..12
    assert smoothed.iloc[0] == 1


def test_learning_curve_smooths_before_cutting():
    # The value at the limit still averages the 10 updates before it.
    train = _train({1: [0.0] * 10 + [1.0] * 10})
    curve = stats.learning_curve(train, limit=150)
    assert curve["mean"].iloc[-1] == pytest.approx(0.5)  # updates 6..15
    assert math.isnan(curve["std"].iloc[-1])  # one run: no band


def test_sample_efficiency_by_hand():
    train = _train({1: [0, 1, 1, 0], 2: [1, 1, 1, 1]})
    per_seed = stats.sample_efficiency_per_seed(train, limit=30)
    assert per_seed.tolist() == pytest.approx([2 / 3, 1.0])
    estimate = stats.sample_efficiency(train, limit=30)
    assert estimate.value == pytest.approx(5 / 6)
    # sd(ddof=1) of (2/3, 1) = (1/3)/√2; half width = 2.5758… · (1/3)/√2 / √2
    assert estimate.half_width == pytest.approx(0.42930488392483335)


# --- paper reference (§E.3, §E.4) ------------------------------------------------


def test_paper_reference_v2_table():
    where = {"experiment": "mixed", "test": "no_change", "agent": "gflan"}
    assert paper_value("q2q3_generalisation", **where) == 0.89
    row = paper_values("q2q3_generalisation", **where).iloc[0]
    assert (row["ci_low"], row["ci_high"]) == (0.84, 0.94)
    assert paper_value("q2q3_generalisation", experiment="gotolocal", test="english_gotolocal",
                       agent="gflan") == 0.99
    labels = paper_values("q2q3_generalisation", test="synonym_actions").set_index("agent")["label"]
    assert labels["gflan"] == "-87%" and labels["drrn"] == "+21%"


def test_paper_reference_versions_and_provenance():
    table = load_paper_reference()
    figure = table[table["item"] == "q2q3_generalisation"]
    assert len(figure[figure["version"] == "v2"]) == 7 * len(items.GENERALISATION_AGENTS)
    assert len(figure[figure["version"] == "v1"]) == 7 * len(items.GENERALISATION_AGENTS)
    assert paper_value("q2q3_generalisation", "v1", experiment="mixed", test="no_change",
                       agent="gflan") == 0.52
    assert figure["provenance"].str.contains("±0.005").all()
    assert not figure["secondary"].any()
    secondary = table[table["secondary"]]
    assert set(secondary["source"]) == {"S-ja", "I#26"}
    assert (table["provenance"].str.len() > 0).all()


def test_every_paper_row_points_at_a_known_item_and_agent():
    table = load_paper_reference()
    known_items = set(items.FIGURE_ITEMS)
    assert set(table["item"]) <= known_items
    assert set(table["agent"]) - set(items.AGENT_LABELS) <= {"bot"}


def test_latex_escape():
    assert latex_escape("0.5 ± 0.1 −3% a_b") == r"0.5 $\pm$ 0.1 $-$3\% a\_b"
