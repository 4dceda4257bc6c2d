"""Speed of the whole report on a result set of the paper preset's size (issue 5).

2 seeds × every agent × every test × 1000 episodes, training logs of 1,172
updates per run, and the policy log of the Mixed GFlan-T5 runs: ``build_report``
must finish in under 30 s on the 2-core development machine.

The budget is checked on the process's CPU time: on a shared machine other
jobs stretch wall-clock time without the report doing more work. Both are
recorded in the benchmark's ``extra_info``.
"""

from __future__ import annotations

import pytest

from glam_bench.report.build import build_report
from glam_bench.report.synthetic import write_synthetic_results
from tests.fixtures_report import quiet

BUDGET_SECONDS = 30.0


@pytest.mark.slow
def test_build_report_on_a_paper_sized_result_set(benchmark, tmp_path):
    results = write_synthetic_results(tmp_path / "results", seeds=(1, 2), episodes=1000,
                                      updates=1172)
    out = tmp_path / "report"
    summary = benchmark.pedantic(build_report, args=(results, out),
                                 kwargs={"progress": False, "log": quiet}, rounds=1, iterations=1)
    benchmark.extra_info["wall_seconds"] = round(summary.seconds, 2)
    benchmark.extra_info["cpu_seconds"] = round(summary.cpu_seconds, 2)
    assert not summary.skipped
    assert summary.cpu_seconds < BUDGET_SECONDS, (
        f"report used {summary.cpu_seconds:.1f} s CPU ({summary.seconds:.1f} s wall)")
