"""Fixtures of the report tests: small synthetic result sets in the exact schemas.

Imported by name (``from tests.fixtures_report import ...``), kept out of a top-level conftest.
The sets are small (40 episodes, 30 updates) so every figure renders in well
under a second; the full paper-size set is built only by the slow benchmark.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from glam_bench.report.build import ReportSummary, build_report
from glam_bench.report.data import ReportData, load_report_data
from glam_bench.report.synthetic import write_synthetic_results

#: Bootstrap resamples in tests: enough for a stable interval, cheap to run.
TEST_RESAMPLES = 300


def quiet(_message: str) -> None:
    """Log sink that drops build messages (tests read them from the summary)."""


def small_result_set(root: Path, seeds: tuple[int, ...] = (1, 2)) -> Path:
    """Every experiment, agent and test of the report, at a size tests can afford."""
    return write_synthetic_results(root, seeds=seeds, episodes=40, updates=30,
                                   frames_per_update=1280, policy_updates=12, random_seed=7)


@pytest.fixture(scope="session")
def small_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only small result set shared by the session (copy it before changing it)."""
    return small_result_set(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="session")
def small_data(small_results: Path) -> ReportData:
    """The small result set, loaded once."""
    return load_report_data(small_results, n_resamples=TEST_RESAMPLES)


#: Items the shared ``build_report`` run builds: every figure function is already
#: exercised on its own, and the slow benchmark builds every item end to end.
BUILT_ITEMS = ("q2q3_generalisation", "table_generalisation")


@pytest.fixture(scope="session")
def built_report(small_results: Path, tmp_path_factory: pytest.TempPathFactory) -> ReportSummary:
    """``build_report`` run once on the complete small result set (items ``BUILT_ITEMS``)."""
    out = tmp_path_factory.mktemp("report")
    return build_report(small_results, out, only=BUILT_ITEMS, progress=False,
                        n_resamples=TEST_RESAMPLES, log=quiet)


@pytest.fixture()
def results_copy(small_results: Path, tmp_path: Path) -> Path:
    """A private copy of the small result set, free to truncate or delete from."""
    return Path(shutil.copytree(small_results, tmp_path / "results"))
