"""Ratios of two timings taken in the same run, on equal terms: both warmed up the same way,
then interleaved rounds (alternating which goes first) so machine noise hits both alike, and
the median round of each kept."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def per_call_seconds(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def interleaved_ratio(candidate: Callable[[], object], baseline: Callable[[], object],
                      calls: int, rounds: int = 7) -> tuple[float, float, float]:
    """Median-over-rounds seconds per call of both, and candidate / baseline.

    Each is called once untimed first (same warm-up); round k times ``calls`` calls of each,
    the baseline first in even rounds and the candidate first in odd ones.
    """
    baseline()
    candidate()
    cand, base = [], []
    for k in range(rounds):
        if k % 2 == 0:
            base.append(per_call_seconds(baseline, calls))
            cand.append(per_call_seconds(candidate, calls))
        else:
            cand.append(per_call_seconds(candidate, calls))
            base.append(per_call_seconds(baseline, calls))
    c, b = statistics.median(cand), statistics.median(base)
    return c, b, c / b


def interleaved_medians(ways: dict[str, Callable[[], object]], rounds: int = 3,
                        warm_up: dict[str, Callable[[], object]] | None = None) -> dict[str, float]:
    """Median seconds of one call of each way, over ``rounds`` interleaved rounds.

    Every way is first called once untimed (``warm_up[name]`` if given, e.g. the same work on
    a smaller input); round k starts with way k mod n, so none always runs first.
    """
    for name, fn in ways.items():
        (warm_up or ways)[name]()
    names = list(ways)
    times: dict[str, list[float]] = {name: [] for name in names}
    for k in range(rounds):
        for name in names[k % len(names):] + names[:k % len(names)]:
            times[name].append(per_call_seconds(ways[name], 1))
    return {name: statistics.median(t) for name, t in times.items()}
