"""Statistics of the report: success rates, the paper's 99% interval, IQM, curves, SE.

Two families live here. The paper's own (§D.1, §E.5, §G): success = return > 0,
a per-seed success rate, mean ± 2.576·sd/√n across seeds, rolling-mean curves
and sample efficiency. And one addition beyond the paper: the interquartile
mean (IQM) with a stratified bootstrap interval, which stays honest when seeds
are few. Functions take tidy frames in the schemas of ``glam_bench.runtime.results``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

#: z-value of the paper's 99% interval, to the digits of ``test_results.py`` (§D.1).
Z_99 = 2.575829303549
#: Rolling window of the training curves, in updates (§G).
CURVE_WINDOW = 10
#: Coverage of the IQM bootstrap interval; 99% to sit beside the paper's interval.
IQM_CONFIDENCE = 0.99
#: Resamples of the IQM bootstrap and the seed of its generator (reproducible output).
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0

#: Columns that identify one test of one trained agent.
TEST_KEYS = ["experiment", "agent", "test"]
NO_INTERVAL_NOTE = "1 seed: no interval"


@dataclass(frozen=True)
class Estimate:
    """A point estimate with an interval; ``low``/``high`` are NaN when none exists."""

    value: float
    low: float
    high: float
    n: int
    note: str = ""

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


# --- Success -----------------------------------------------------------------


def is_success(returns: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """An episode succeeds when its return is > 0 (§A.4: the env pays only on success)."""
    return np.asarray(returns, dtype=float) > 0


def seed_success_rates(episodes: pd.DataFrame) -> pd.DataFrame:
    """Success rate of each seed on each test: the unit the paper averages (§D.1).

    Returns one row per (experiment, agent, test, seed) with ``n_episodes``,
    ``success_rate`` and ``mean_return``.
    """
    frame = episodes.assign(_success=is_success(episodes["return"]))
    grouped = frame.groupby(TEST_KEYS + ["seed"], sort=True)
    return grouped.agg(
        n_episodes=("_success", "size"),
        success_rate=("_success", "mean"),
        mean_return=("return", "mean"),
    ).reset_index()


# --- The paper's interval (§D.1) -----------------------------------------------


def mean_ci99(values: Sequence[float] | np.ndarray) -> Estimate:
    """Mean across seeds ± 2.575829303549·std(ddof=1)/√n, the paper's 99% CI (§D.1).

    With one seed the sample std is undefined: the estimate carries no interval
    (NaN bounds) and says so in ``note`` rather than pretending to zero width.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("mean_ci99 needs at least one value")
    mean = float(x.mean())
    if x.size == 1:
        return Estimate(mean, math.nan, math.nan, 1, NO_INTERVAL_NOTE)
    half = Z_99 * float(x.std(ddof=1)) / math.sqrt(x.size)
    return Estimate(mean, mean - half, mean + half, int(x.size))


# --- IQM with a stratified bootstrap (beyond the paper) -------------------------


def iqm(values: Sequence[float] | np.ndarray, axis: int = -1) -> np.ndarray | float:
    """Interquartile mean: the mean of the middle 50% (25% trimmed at each end).

    With fewer than four values nothing is trimmed, so it equals the mean.
    """
    return scipy_stats.trim_mean(np.asarray(values, dtype=float), 0.25, axis=axis)


def _iqm_of_seed_rates(*per_seed: np.ndarray, axis: int = -1) -> np.ndarray:
    """Statistic for the bootstrap: IQM across seeds of each seed's success rate."""
    rates = np.stack([np.mean(s, axis=axis) for s in per_seed], axis=-1)
    return iqm(rates, axis=-1)


def _compact(outcomes: Sequence[float] | np.ndarray) -> np.ndarray:
    """Booleans as uint8 (resampling moves 8x fewer bytes than float64), the rest as float."""
    array = np.asarray(outcomes)
    return array.astype(np.uint8) if array.dtype == bool else array.astype(float)


# ``rng`` replaced ``random_state`` in scipy 1.15; accept both so scipy>=1.11 works.
_BOOTSTRAP_PARAMETERS = inspect.signature(scipy_stats.bootstrap).parameters
_RNG_KEYWORD = "rng" if "rng" in _BOOTSTRAP_PARAMETERS else "random_state"


def iqm_bootstrap(
    per_seed_successes: Sequence[Sequence[float] | np.ndarray],
    confidence: float = IQM_CONFIDENCE,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Estimate:
    """IQM across seeds of per-seed success rates, with a stratified bootstrap CI.

    Each seed's episode outcomes are one sample of ``scipy.stats.bootstrap``,
    which resamples every sample on its own: episodes are redrawn within their
    seed (stratified by seed), so the interval reflects episode noise without
    mixing seeds. Percentile intervals stay defined when every outcome is equal
    (a 0% agent), where BCa is not. The generator is seeded: same data, same CI.

    With fewer than four seeds (the paper's two) the IQM equals the mean of the
    seeds, and the interval reflects episode noise only, not seed-to-seed
    spread, which the paper's interval (:func:`mean_ci99`) captures: read both.
    """
    samples = [_compact(s) for s in per_seed_successes]
    if not samples or any(s.size == 0 for s in samples):
        raise ValueError("iqm_bootstrap needs at least one non-empty sample per seed")
    value = float(_iqm_of_seed_rates(*samples))
    if any(s.size < 2 for s in samples):
        note = "fewer than 2 episodes: no interval"
        return Estimate(value, math.nan, math.nan, len(samples), note)
    if all(np.all(s == samples[0][0]) for s in samples):
        return Estimate(value, value, value, len(samples))  # every resample is identical
    result = scipy_stats.bootstrap(
        samples,
        _iqm_of_seed_rates,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        axis=-1,
        **{_RNG_KEYWORD: np.random.default_rng(seed)},
    )
    interval = result.confidence_interval
    return Estimate(value, float(interval.low), float(interval.high), len(samples))


# --- Test summaries ----------------------------------------------------------------

#: Columns of :func:`summarise_test`, after the test keys.
TEST_SUMMARY_COLUMNS: tuple[str, ...] = (
    "n_seeds", "seeds", "episodes_min", "episodes_max", "mean", "std",
    "ci99_low", "ci99_high", "ci99_half_width", "iqm", "iqm_low", "iqm_high", "note",
)


def summarise_test(
    successes_by_seed: dict[int, np.ndarray],
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, float | int | str]:
    """Both statistics of one (experiment, agent, test) from its per-seed outcomes."""
    seeds = sorted(successes_by_seed)
    rates = [float(np.mean(successes_by_seed[s])) for s in seeds]
    paper = mean_ci99(rates)
    samples = [successes_by_seed[s] for s in seeds]
    robust = iqm_bootstrap(samples, n_resamples=n_resamples, seed=seed)
    sizes = [len(successes_by_seed[s]) for s in seeds]
    return {
        "n_seeds": len(seeds),
        "seeds": " ".join(str(s) for s in seeds),
        "episodes_min": min(sizes),
        "episodes_max": max(sizes),
        "mean": paper.value,
        "std": float(np.std(rates, ddof=1)) if len(rates) > 1 else math.nan,
        "ci99_low": paper.low,
        "ci99_high": paper.high,
        "ci99_half_width": paper.half_width,
        "iqm": robust.value,
        "iqm_low": robust.low,
        "iqm_high": robust.high,
        "note": paper.note,
    }


def summarise_tests(
    episodes: pd.DataFrame,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> pd.DataFrame:
    """One row per (experiment, agent, test): paper statistic and IQM, with counts."""
    columns = TEST_KEYS + list(TEST_SUMMARY_COLUMNS)
    if episodes.empty:
        return pd.DataFrame(columns=columns)
    success = is_success(episodes["return"])
    rows = []
    for key, index in episodes.groupby(TEST_KEYS, sort=True).indices.items():
        group_seeds = episodes["seed"].to_numpy()[index]
        by_seed = {int(s): success[index[group_seeds == s]] for s in np.unique(group_seeds)}
        rows.append(dict(zip(TEST_KEYS, key)) | summarise_test(by_seed, n_resamples, seed))
    return pd.DataFrame(rows, columns=columns)


def task_kind_rates(episodes: pd.DataFrame) -> pd.DataFrame:
    """Success rate per task kind: per seed first, then mean across seeds.

    Returns one row per (experiment, agent, test, task_kind) with ``mean``,
    ``n_seeds`` and ``n_episodes`` (all seeds together).
    """
    frame = episodes.assign(_success=is_success(episodes["return"]))
    keys = TEST_KEYS + ["task_kind"]
    per_seed = frame.groupby(keys + ["seed"], sort=True).agg(
        rate=("_success", "mean"), n=("_success", "size")
    ).reset_index()
    return per_seed.groupby(keys, sort=True).agg(
        mean=("rate", "mean"), n_seeds=("seed", "nunique"), n_episodes=("n", "sum")
    ).reset_index()


def count_range(values: Sequence[float] | np.ndarray | pd.Series) -> str:
    """Seeds, episodes or updates of the runs behind a figure: "20", or "10–20" if they differ."""
    low, high = int(np.min(values)), int(np.max(values))
    return f"{low}" if low == high else f"{low}–{high}"


def relative_change(value: float, reference: float) -> float:
    """(value − reference) / reference, as the figure's % labels (§E.3); NaN if reference is 0."""
    if reference == 0 or math.isnan(reference) or math.isnan(value):
        return math.nan
    return (value - reference) / reference


# --- Training curves and sample efficiency (§G, §E.5) ------------------------------


def _cut(frame: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    return frame if limit is None else frame[frame["frames"] <= limit]


def smooth_runs(
    train: pd.DataFrame, column: str = "success_rate", window: int = CURVE_WINDOW
) -> pd.Series:
    """Per-run rolling mean over ``window`` updates (§G), aligned with ``train``'s index.

    A run is one (experiment, agent, seed). ``min_periods=1`` keeps the first
    updates (averaging what exists so far) so every curve starts at its first
    update rather than after ``window`` of them.
    """
    ordered = train.sort_values(["experiment", "agent", "seed", "update"])
    rolled = ordered.groupby(["experiment", "agent", "seed"], sort=False)[column].transform(
        lambda s: s.rolling(window, min_periods=1).mean()
    )
    return rolled.reindex(train.index)


def learning_curve(
    train: pd.DataFrame,
    limit: int | None = None,
    column: str = "success_rate",
    window: int = CURVE_WINDOW,
) -> pd.DataFrame:
    """Mean ± std across runs of the smoothed ``column`` at each frame count (§G).

    Order as the authors' plots: smooth each run, keep rows with frames ≤
    ``limit``, then average runs that share a frame count. ``std`` uses ddof=1
    (pandas' default) and is NaN where only one run reaches that frame count.
    """
    frame = train.assign(_smoothed=smooth_runs(train, column, window))
    frame = _cut(frame, limit)
    curve = frame.groupby("frames", sort=True)["_smoothed"].agg(["mean", "std", "count"])
    return curve.rename(columns={"count": "n_runs"}).reset_index()


def sample_efficiency_per_seed(
    train: pd.DataFrame, limit: int | None, column: str = "success_rate"
) -> pd.Series:
    """Each seed's mean ``column`` over its updates with frames ≤ ``limit`` (§E.5)."""
    return _cut(train, limit).groupby("seed", sort=True)[column].mean()


def sample_efficiency(
    train: pd.DataFrame, limit: int | None, column: str = "success_rate"
) -> Estimate:
    """Sample efficiency (§E.5): per-seed SE averaged over seeds, with the 99% CI of §D.1."""
    per_seed = sample_efficiency_per_seed(train, limit, column).dropna()
    if per_seed.empty:
        raise ValueError(f"no {column} values at frames <= {limit}")
    return mean_ci99(per_seed.to_numpy())
