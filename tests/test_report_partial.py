"""The report over a partial agent set: the CPU half of the paper (random, DRRN, Symbolic-PPO).

A campaign that runs only some agents (``agents:`` in ``paper-cpu.yaml``), or has not
finished, must still give every figure it can draw, with the agents present beside
the paper's values and a footer naming the agents absent; items with none of their
agents are skipped as before.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from glam_bench.report import items
from glam_bench.report.build import build_report
from glam_bench.report.data import load_report_data
from glam_bench.report.figures import draw_figure
from glam_bench.report.published import paper_value
from tests.fixtures_report import (  # noqa: F401  (pytest fixtures, used by name)
    TEST_RESAMPLES,
    quiet,
    small_results,
)

#: The agents of workflows/config/paper-cpu.yaml.
CPU_AGENTS = ("random", "drrn", "symbolic-ppo")


@pytest.fixture(scope="module")
def cpu_results(small_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small synthetic set with every agent but the CPU ones removed."""
    root = Path(shutil.copytree(small_results, tmp_path_factory.mktemp("cpu") / "results"))
    for agent_dir in root.glob("*/*"):
        if agent_dir.is_dir() and agent_dir.name not in CPU_AGENTS:
            shutil.rmtree(agent_dir)
    return root


@pytest.fixture(scope="module")
def cpu_data(cpu_results: Path):
    return load_report_data(cpu_results, n_resamples=TEST_RESAMPLES)


def _gids(fig: Figure, prefix: str) -> dict[str, object]:
    found = {}
    for ax in fig.axes:
        for artist in [*ax.patches, *ax.lines, *ax.texts]:
            gid = artist.get_gid()
            if gid and gid.startswith(prefix):
                found[gid] = artist
    return found


def _footer(fig: Figure) -> str:
    """The footer's text with its line wrapping undone."""
    return " ".join(" ".join(t.get_text() for sub in fig.subfigs for t in sub.texts).split())


def test_items_with_one_agent_are_built_the_others_skipped(cpu_results, tmp_path):
    asked = ("q2q3_generalisation", "table_generalisation", "q1_mixed_curves",
             "appendix_gotoredball", "q4_online_vs_bc", "appendix_pretraining")
    messages: list[str] = []
    summary = build_report(cpu_results, tmp_path, only=asked, progress=False,
                           n_resamples=TEST_RESAMPLES, log=messages.append)
    assert set(summary.built) == {"q2q3_generalisation", "table_generalisation",
                                  "q1_mixed_curves", "appendix_gotoredball"}
    assert set(summary.skipped) == {"q4_online_vs_bc", "appendix_pretraining"}
    # GoToRedBall has both its agents: complete, not partial.
    assert set(summary.partial) == {"q2q3_generalisation", "table_generalisation",
                                    "q1_mixed_curves"}
    assert summary.partial["q1_mixed_curves"] in messages
    assert "training log mixed/gflan" in summary.partial["q1_mixed_curves"]
    assert (tmp_path / "q2q3_generalisation.png").is_file()
    caption = (tmp_path / "table_generalisation.md").read_text(encoding="utf-8")
    assert "not in these results, so not drawn: NPAE-Flan-T5" in caption


def test_generalisation_draws_random_and_drrn_beside_the_paper(cpu_data, tmp_path):
    fig = draw_figure("q2q3_generalisation", cpu_data, tmp_path)
    ours, papers = _gids(fig, "ours/"), _gids(fig, "paper/")
    for panel in items.GENERALISATION_PANELS:  # (a)-(f), French included
        for agent in ("random", "drrn"):
            bar = ours[f"ours/{panel.experiment}/{agent}/{panel.test}"]
            assert bar.get_height() == pytest.approx(
                cpu_data.test_stat(panel.experiment, agent, panel.test)["mean"])
            marker = papers[f"paper/{panel.experiment}/{agent}/{panel.test}"]
            assert marker.get_ydata()[0] == paper_value(
                "q2q3_generalisation", experiment=panel.experiment, test=panel.test, agent=agent)
    assert {gid.split("/")[2] for gid in ours} == {"random", "drrn"}
    footer = _footer(fig)
    absent = ", ".join(items.agent_label(a) for a in ("npae", "zero-shot", "gflan"))
    assert f"not in these results, so not drawn: {absent}" in footer
    panel_a = next(ax for ax in fig.axes if ax.get_title().startswith("(a)"))
    assert [t.get_text() for t in panel_a.get_xticklabels()] == ["Random", "DRRN"]


def test_mixed_curves_draw_drrn_and_symbolic_ppo(cpu_data, tmp_path):
    fig = draw_figure("q1_mixed_curves", cpu_data, tmp_path)
    assert set(_gids(fig, "ours/curve/")) == {"ours/curve/mixed/drrn",
                                              "ours/curve/mixed/symbolic-ppo"}
    footer = _footer(fig)
    absent = ", ".join(items.agent_label(a) for a in items.Q1_AGENTS if a not in CPU_AGENTS)
    assert f"not drawn: {absent}." in footer
    # only the paper points of the agents drawn are counted (DRRN <0.2, Symbolic-PPO ≈0.4)
    assert "2 paper point(s) at 1.5M frames lie beyond" in footer


def test_a_missing_test_of_a_present_agent_is_named(cpu_results, tmp_path):
    results = Path(shutil.copytree(cpu_results, tmp_path / "results"))
    for csv in results.glob("gotolocal/drrn/seed_*/tests/french.*"):
        csv.unlink()
    data = load_report_data(results, n_resamples=TEST_RESAMPLES)
    fig = draw_figure("q2q3_generalisation", data, tmp_path / "out")
    assert "ours/gotolocal/drrn/french" not in _gids(fig, "ours/")
    assert "ours/gotolocal/random/french" in _gids(fig, "ours/")
    assert "missing for the agents drawn: test episodes gotolocal/drrn/french" in _footer(fig)
