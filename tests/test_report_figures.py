"""Every figure, table and the build entry point, on synthetic result sets.

Beyond "it renders", the checks read the drawn artists back (bar heights,
line data, image cells) and compare them with numbers recomputed here from the
raw CSVs, so a figure cannot silently plot something else than it claims.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from glam_bench.report import build, figures, items, plotting
from glam_bench.report.build import build_report
from glam_bench.report.data import ReportError, load_report_data
from glam_bench.report.figures import FIGURES, draw_figure
from glam_bench.report.published import FIGURE_LEGEND, paper_value
from glam_bench.runtime.results import ResultFileError
from tests.fixtures_report import (  # noqa: F401  (pytest fixtures, used by name)
    BUILT_ITEMS,
    TEST_RESAMPLES,
    built_report,
    quiet,
    results_copy,
    small_data,
    small_result_set,
    small_results,
)


def _artists(fig: Figure, prefix: str) -> dict[str, object]:
    """Every patch, line and image whose gid starts with ``prefix``, by gid."""
    found = {}
    for ax in fig.axes:
        for artist in [*ax.patches, *ax.lines, *ax.images, *ax.texts]:
            gid = artist.get_gid()
            if gid and gid.startswith(prefix):
                found[gid] = artist
    return found


def _rate_from_csvs(results: Path, experiment: str, agent: str, test: str) -> float:
    """Mean over seeds of the per-seed success rate, straight from the CSV files."""
    files = list(results.glob(f"{experiment}/{agent}/seed_*/tests/{test}.csv"))
    per_seed = [(pd.read_csv(f)["return"] > 0).mean() for f in files]
    return float(np.mean(per_seed))


@pytest.fixture(scope="module")
def drawn(small_data, tmp_path_factory) -> dict[str, tuple[Figure, Path]]:
    """Every figure function run once on the small set: name -> (figure, out dir)."""
    out = tmp_path_factory.mktemp("figures")
    return {name: (draw_figure(name, small_data, out), out) for name in FIGURES}


# --- every figure renders ---------------------------------------------------------


@pytest.mark.parametrize("name", items.FIGURE_ITEMS)
def test_figure_writes_png_and_pdf(drawn, name):
    fig, out = drawn[name]
    png, pdf = out / f"{name}.png", out / f"{name}.pdf"
    assert pdf.stat().st_size > 1000 and pdf.read_bytes().startswith(b"%PDF")
    image = imread(png)
    width, height = fig.get_size_inches() * plotting.PNG_DPI
    assert abs(image.shape[0] - height) <= 1 and abs(image.shape[1] - width) <= 1
    assert image.shape[0] > 400 and image.shape[1] > 600
    assert image[..., :3].std() > 0.05  # not blank


@pytest.mark.parametrize("name", items.FIGURE_ITEMS)
def test_figure_has_footer_with_data_provenance(drawn, name):
    fig, _ = drawn[name]
    footer = "\n".join(t.get_text() for sub in fig.subfigs for t in sub.texts)
    assert "preset synthetic" in footer
    assert "seeds" in footer
    assert "models " in footer


def _labels(fig: Figure) -> tuple[set[str], set[str]]:
    return ({ax.get_xlabel() for ax in fig.axes}, {ax.get_ylabel() for ax in fig.axes})


@pytest.mark.parametrize("name", [
    "q1_mixed_curves", "q1_action_space", "q1_distractors", "appendix_model_size",
    "appendix_pretraining", "appendix_prompt_length", "appendix_gotoredball",
    "extra_scorer_comparison",
])
def test_curve_figures_use_the_papers_axis_labels(drawn, name):
    xlabels, ylabels = _labels(drawn[name][0])
    assert "Frames" in xlabels and "Average success rate" in ylabels


def test_bar_figures_label_success_rate(drawn):
    for name in ("q2q3_generalisation", "q4_online_vs_bc"):
        _, ylabels = _labels(drawn[name][0])
        assert any(label.startswith("Success rate") for label in ylabels)


def test_variable_studies_have_the_papers_panels(drawn):
    titles = {ax.get_title() for ax in drawn["q1_action_space"][0].axes}
    assert {"Restricted", "Canonical", "Augmented", "Comparison of the 3 action spaces"} <= titles
    titles = {ax.get_title() for ax in drawn["q1_distractors"][0].axes}
    assert {"4 distractors", "8 distractors", "16 distractors"} <= titles
    xlabels, _ = _labels(drawn["q1_distractors"][0])
    assert "Number of distractors" in xlabels


# --- the drawn numbers are the aggregated ones --------------------------------------


def test_generalisation_bars_equal_the_aggregates(drawn, small_data, small_results):
    fig, _ = drawn["q2q3_generalisation"]
    ours = _artists(fig, "ours/")
    references = _artists(fig, "reference/")
    papers = _artists(fig, "paper/")
    for panel in items.GENERALISATION_PANELS:
        for agent in items.GENERALISATION_AGENTS:
            bar = ours[f"ours/{panel.experiment}/{agent}/{panel.test}"]
            expected = small_data.test_stat(panel.experiment, agent, panel.test)["mean"]
            assert bar.get_height() == pytest.approx(expected)
            if panel.reference_test:
                ref = references[f"reference/{panel.experiment}/{agent}/{panel.reference_test}"]
                assert ref.get_height() == pytest.approx(
                    small_data.test_stat(panel.experiment, agent, panel.reference_test)["mean"])
            marker = papers[f"paper/{panel.experiment}/{agent}/{panel.test}"]
            assert marker.get_ydata()[0] == paper_value(
                "q2q3_generalisation", experiment=panel.experiment, test=panel.test, agent=agent)
    # and one bar recomputed from the raw CSVs, independent of the report's code
    assert ours["ours/mixed/gflan/no_change"].get_height() == pytest.approx(
        _rate_from_csvs(small_results, "mixed", "gflan", "no_change"))


def test_generalisation_labels_are_relative_changes(drawn, small_data):
    fig, _ = drawn["q2q3_generalisation"]
    panel_b = next(ax for ax in fig.axes if ax.get_title().startswith("(b)"))
    test = small_data.test_stat("mixed", "gflan", "other_nouns")["mean"]
    ref = small_data.test_stat("mixed", "gflan", "no_change")["mean"]
    expected = plotting.percent((test - ref) / ref)
    assert expected in {t.get_text() for t in panel_b.texts}
    assert "paper −2%" in {t.get_text() for t in panel_b.texts}


def test_generalisation_legend_names_the_paper_values(drawn):
    fig, _ = drawn["q2q3_generalisation"]
    legends = [legend for sub in fig.subfigs for legend in sub.legends]
    texts = {t.get_text() for legend in legends for t in legend.get_texts()}
    assert FIGURE_LEGEND in texts
    assert {items.agent_label(a) for a in items.GENERALISATION_AGENTS} <= texts


def test_mixed_curves_equal_the_aggregates(drawn, small_data):
    fig, _ = drawn["q1_mixed_curves"]
    lines = _artists(fig, "ours/curve/")
    assert len(lines) == len(items.MIXED_CURVES.series)
    for series in items.MIXED_CURVES.series:
        curve = small_data.curve(series, items.MIXED_CURVES.frame_limit)
        xy = lines[f"ours/curve/{series.experiment}/{series.agent}"].get_xydata()
        np.testing.assert_allclose(xy[:, 0], curve["frames"])
        np.testing.assert_allclose(xy[:, 1], curve["mean"])
    # The small runs stop long before the paper's [S-ja] points: left out, and said so.
    assert not _artists(fig, "paper/")
    footer = "\n".join(t.get_text() for sub in fig.subfigs for t in sub.texts)
    assert "5 paper point(s) at 1.5M, 250k, 600k frames lie beyond" in footer


def test_paper_points_on_a_full_length_axis():
    ax = Figure().add_subplot()
    ax.set_xlim(0, 1.6e6)
    relations = figures._draw_paper_points(ax, "q1_mixed_curves", items.MIXED_CURVES.series)
    points = _artists(ax.figure, "paper/mixed/")
    assert relations == {"≈", "<"}
    assert points["paper/mixed/gflan/250000"].get_xydata().tolist() == [[250000, 0.8]]
    assert points["paper/mixed/symbolic-ppo/1500000"].get_ydata()[0] == 0.4
    # DRRN and NPAE share "< 0.2 at 1.5M": nudged apart so both show
    assert (points["paper/mixed/drrn/1500000"].get_xdata()[0]
            != points["paper/mixed/npae/1500000"].get_xdata()[0])


def test_mixed_curve_recomputed_from_raw_rows(drawn, small_data):
    # Independent of stats.py: rolling mean of 10 updates per seed, then mean over seeds.
    fig, _ = drawn["q1_mixed_curves"]
    line = _artists(fig, "ours/curve/mixed/gflan")["ours/curve/mixed/gflan"]
    runs = small_data.runs(items.Series("mixed", "gflan")).sort_values(["seed", "update"])
    smoothed = [g["success_rate"].to_numpy() for _, g in runs.groupby("seed")]
    rolled = [np.array([v[max(0, i - 9):i + 1].mean() for i in range(len(v))]) for v in smoothed]
    np.testing.assert_allclose(line.get_ydata(), np.mean(rolled, axis=0))


def test_se_lines_equal_the_aggregates(drawn, small_data):
    fig, _ = drawn["q1_action_space"]
    lines = _artists(fig, "ours/se/")
    study = items.ACTION_SPACE
    for agent in items.Q1_AGENTS:
        x, y = lines[f"ours/se/{agent}"].get_data()
        expected = {
            study.variable[s.experiment]: small_data.sample_efficiency(s, study.frame_limit).value
            for s in study.series if s.agent == agent
        }
        assert list(x) == sorted(expected)
        assert list(y) == pytest.approx([expected[v] for v in sorted(expected)])


def test_distractor_figure_shows_the_papers_relative_drop(drawn):
    fig, _ = drawn["q1_distractors"]
    box = _artists(fig, "paper/se_change")["paper/se_change"].get_text()
    assert "paper ≈−14%" in box and "paper ≈−38%" in box


def test_se_bars_equal_the_aggregates(drawn, small_data):
    fig, _ = drawn["appendix_pretraining"]
    bars = _artists(fig, "ours/se/")
    for series in items.PRETRAINING.series:
        bar = bars[f"ours/se/{series.experiment}/{series.agent}"]
        expected = small_data.sample_efficiency(series, items.PRETRAINING.frame_limit).value
        assert bar.get_height() == pytest.approx(expected)


def test_bc_bars_equal_the_raw_rates(drawn, small_results):
    fig, _ = drawn["q4_online_vs_bc"]
    bars = _artists(fig, "ours/")
    for s in items.ONLINE_VS_BC.series:
        height = bars[f"ours/{s.experiment}/{s.agent}/no_change"].get_height()
        expected = _rate_from_csvs(small_results, s.experiment, s.agent, "no_change")
        assert height == pytest.approx(expected)


def test_policy_evolution_averages_seeds(drawn, small_results):
    fig, _ = drawn["appendix_policy_evolution"]
    assert fig.subfigs[0].get_suptitle().startswith("Policy evolution")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[:11] == [f"Prompt {j}" for j in range(11)]
    raw = pd.concat(pd.read_csv(f) for f in small_results.glob("mixed/gflan/seed_*/policy_log.csv"))
    one = raw[(raw.prompt_id == 3) & (raw.action == "pick up")]
    expected = one.groupby("update")["probability"].mean()
    line = _artists(fig, "ours/policy/3/pick up")["ours/policy/3/pick up"]
    np.testing.assert_allclose(line.get_ydata(), expected.to_numpy())


def test_task_kind_cells_equal_the_raw_rates(drawn, small_results):
    fig, _ = drawn["extra_task_kinds"]
    image = _artists(fig, "ours/task_kinds/gflan")["ours/task_kinds/gflan"]
    cells = image.get_array()
    axes = image.axes
    tests = [t.get_text() for t in axes.get_yticklabels()]
    kinds = [t.get_text() for t in axes.get_xticklabels()]
    row, column = tests.index(items.label_for_test("no_change")), kinds.index("putnext")
    frames = [pd.read_csv(f) for f in small_results.glob("mixed/gflan/seed_*/tests/no_change.csv")]
    expected = np.mean([(f[f.task_kind == "putnext"]["return"] > 0).mean() for f in frames])
    assert cells[row, column] == pytest.approx(expected)
    untested = tests.index(items.label_for_test("new_composition"))
    assert np.ma.is_masked(cells[untested, column])


# --- build_report -----------------------------------------------------------------


def test_build_report_knows_every_item():
    assert set(build._builders()) == {*items.FIGURE_ITEMS, *items.TABLE_ITEMS}


def test_build_report_builds_the_requested_items(built_report):
    assert built_report.skipped == {}
    assert set(built_report.built) == set(BUILT_ITEMS)
    for paths in built_report.built.values():
        assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    names = {p.name for p in built_report.summaries}
    assert {"summary_tests.csv", "summary_sample_efficiency.csv", "summary_curves.csv"} <= names


def test_summary_csv_matches_the_figure_numbers(built_report, small_data):
    summary = pd.read_csv(built_report.out_dir / "summary_tests.csv")
    row = summary[(summary.experiment == "mixed") & (summary.agent == "gflan")
                  & (summary.test == "other_nouns")].iloc[0]
    expected = small_data.test_stat("mixed", "gflan", "other_nouns")["mean"]
    assert row["mean"] == pytest.approx(expected)
    assert row["preset"] == "synthetic" and row["model"] == "flan-t5-large"


def test_generalisation_tables(built_report, small_data):
    markdown = (built_report.out_dir / "table_generalisation.md").read_text(encoding="utf-8")
    latex = (built_report.out_dir / "table_generalisation.tex").read_text(encoding="utf-8")
    table = pd.read_csv(built_report.out_dir / "table_generalisation.csv")
    gflan = table[(table.test == "no_change") & (table.agent == "gflan")].iloc[0]
    ours = small_data.test_stat("mixed", "gflan", "no_change")
    assert gflan["mean"] == pytest.approx(ours["mean"])
    assert gflan["paper_v2"] == 0.89 and gflan["paper_v1"] == 0.52
    assert gflan["difference_v2"] == pytest.approx(ours["mean"] - 0.89)
    line = f"| {items.label_for_test('no_change')} | GFlan-T5 | 2 | {ours['mean']:.2f} ± "
    assert line in markdown
    assert "0.89 [0.84, 0.94]" in markdown
    assert r"\begin{tabular}" in latex and r"$\pm$" in latex and r"\bottomrule" in latex


def test_truncated_file_raises_naming_file_and_line_and_writes_no_figure(results_copy, tmp_path):
    victim = results_copy / "mixed" / "gflan" / "seed_1" / "tests" / "other_nouns.csv"
    text = victim.read_text(encoding="utf-8")
    victim.write_text(text[: len(text) - 25], encoding="utf-8")  # cut inside the last line
    out = tmp_path / "out"
    with pytest.raises(ResultFileError) as error:
        build_report(results_copy, out, progress=False, log=quiet)
    assert str(victim) in str(error.value) and "line 41" in str(error.value)
    assert not list(out.glob("*.png")) and not list(out.glob("*.pdf"))


def test_malformed_value_raises_naming_file_and_line(results_copy, tmp_path):
    victim = results_copy / "gotolocal" / "drrn" / "seed_2" / "train_log.csv"
    lines = victim.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[5].split(",")
    fields[5] = "abc"  # the 'update' column, after the five identity columns
    lines[5] = ",".join(fields)
    victim.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ResultFileError, match=r"line 6: column 'update'") as error:
        build_report(results_copy, tmp_path / "out", progress=False, log=quiet)
    assert str(victim) in str(error.value)
    assert not (tmp_path / "out").exists()


def _empty(text: str) -> str:
    return ""


def _drop_header_column(text: str) -> str:
    """The 'success_rate' column removed from the header and every row."""
    rows = [line.split(",") for line in text.splitlines()]
    index = rows[0].index("success_rate")
    return "".join(",".join(r[:index] + r[index + 1:]) + "\n" for r in rows)


def _short_row_mid_file(text: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[3] = ",".join(lines[3].split(",")[:-2]) + "\n"  # line 4 loses two fields
    return "".join(lines)


@pytest.mark.parametrize("damage, message", [
    (_empty, "result file is empty"),
    (_drop_header_column, r"line 1: header lacks train_log columns \['success_rate'\]"),
    (_short_row_mid_file, r"line 4: expected \d+ fields, found \d+"),
])
def test_damaged_train_log_is_refused_in_one_line_naming_the_file(results_copy, tmp_path,
                                                                   damage, message):
    victim = results_copy / "gotolocal" / "drrn" / "seed_2" / "train_log.csv"
    victim.write_text(damage(victim.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ResultFileError, match=message) as error:
        build_report(results_copy, tmp_path / "out", progress=False, log=quiet)
    assert str(victim) in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


def test_repeated_run_raises_naming_both_files(results_copy, tmp_path):
    source = results_copy / "obs-1" / "gflan" / "seed_1"
    shutil.copytree(source, results_copy / "elsewhere" / "copy_of_obs1")
    with pytest.raises(ResultFileError, match="repeated") as error:
        load_report_data(results_copy)
    assert "elsewhere" in str(error.value) and "obs-1" in str(error.value)


def test_missing_results_are_skipped_with_exact_names(results_copy, tmp_path):
    """An item with none of its results is skipped, naming each; one with some is drawn
    (tests/test_report_partial.py)."""
    shutil.rmtree(results_copy / "pretraining")
    shutil.rmtree(results_copy / "mixed" / "npae")
    out = tmp_path / "out"
    out.mkdir()
    (out / "appendix_pretraining.png").write_bytes(b"stale figure from an earlier run")
    messages = []
    summary = build_report(results_copy, out, only=("appendix_pretraining", "q1_mixed_curves"),
                           progress=False, n_resamples=TEST_RESAMPLES, log=messages.append)
    assert set(summary.skipped) == {"appendix_pretraining"}
    assert set(summary.built) == {"q1_mixed_curves"}
    expected = ("skipped appendix_pretraining: missing " + "; ".join(
        f"training log pretraining/{a}" for a in ("gflan", "aflan", "npae", "npa", "npe")))
    assert summary.skipped["appendix_pretraining"] == expected
    assert summary.partial["q1_mixed_curves"] == "built q1_mixed_curves without: training log mixed/npae"
    assert all("\n" not in m for m in summary.skipped.values())
    assert expected in messages and summary.partial["q1_mixed_curves"] in messages
    assert not (out / "appendix_pretraining.png").exists()  # no stale figure left behind
    assert (out / "q1_mixed_curves.png").is_file()


def test_empty_results_folder_is_refused_and_writes_nothing(tmp_path):
    (tmp_path / "results").mkdir()
    with pytest.raises(ReportError, match="no result files of finished runs"):
        build_report(tmp_path / "results", tmp_path / "out", progress=False, log=quiet)
    assert not (tmp_path / "out").exists()


def test_one_seed_draws_no_interval_and_says_so(tmp_path):
    results = small_result_set(tmp_path / "results", seeds=(1,))
    data = load_report_data(results, n_resamples=TEST_RESAMPLES)
    assert math.isnan(data.test_stat("mixed", "gflan", "no_change")["ci99_low"])
    fig = draw_figure(items.ONLINE_VS_BC.name, data, tmp_path / "out")
    ax = next(ax for ax in fig.axes if ax.patches)
    assert not ax.containers or all(type(c).__name__ == "BarContainer" for c in ax.containers)
    footer = "\n".join(t.get_text() for sub in fig.subfigs for t in sub.texts)
    assert "1 seed: no interval shown" in footer
