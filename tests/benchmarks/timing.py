"""Ratios of two timings taken in the same run, interleaved so machine noise hits both alike."""

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

    Each round times ``calls`` calls of the baseline, then of the candidate.
    """
    cand, base = [], []
    for _ in range(rounds):
        base.append(per_call_seconds(baseline, calls))
        cand.append(per_call_seconds(candidate, calls))
    c, b = statistics.median(cand), statistics.median(base)
    return c, b, c / b
