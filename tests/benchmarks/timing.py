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
