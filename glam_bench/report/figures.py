"""One function per paper item (§E): each draws our numbers beside the paper's.

Every function takes the loaded :class:`ReportData`, an output folder and the
item's name, writes ``<item>.png`` and ``<item>.pdf`` there, and returns the
Figure so tests can read back what was drawn. :data:`FIGURES` maps each figure
item of :data:`glam_bench.paper.study.REPORT_ITEMS` to its function, and
:func:`draw_figure` calls it. A function saves before it returns, while its
drawing is alive: matplotlib's constrained layout walks sets of artists hashed by
address, so a save after the function's locals are freed may shift the layout in
its last digit, and the PDF's bytes with it.
What each item shows (experiments, agents, tests) comes from its spec in
:mod:`glam_bench.report.items`; the numbers come from :class:`ReportData`'s
cached aggregates, the same ones written to the summary CSVs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from glam_bench.report import fidelity, items, plotting, stats
from glam_bench.report.data import ReportData
from glam_bench.report.items import CurveStudy, Panel, Series
from glam_bench.report.published import paper_value, paper_values

# --- Shared pieces -------------------------------------------------------------------


def _series_rows(data: ReportData, study: CurveStudy) -> pd.DataFrame:
    return pd.concat([data.runs(s) for s in study.series], ignore_index=True)


def _draw_curves(ax: Axes, data: ReportData, series: tuple[Series, ...], limit: int | None,
                 styles: dict[str, str] | None = None) -> None:
    """One mean ± sd curve per series; ``styles`` (experiment -> line style) drops the bands."""
    for s in series:
        linestyle = (styles or {}).get(s.experiment, s.linestyle)
        gid = f"ours/curve/{s.experiment}/{s.agent}"
        plotting.draw_curve(ax, data.curve(s, limit), s.color, s.display, gid, linestyle,
                            band=styles is None)


def _draw_paper_points(ax: Axes, item: str, series: tuple[Series, ...]) -> set[str]:
    """Secondary-source points of ``item`` on a styled curve panel; returns the relations drawn.

    Points beyond the panel's frame range (runs shorter than the paper's) are
    left out; :func:`_paper_points_note` says so in the footer.
    """
    drawn, seen = set(), {}
    right = ax.get_xlim()[1]
    for s in series:
        rows = paper_values(item, version=None, experiment=s.experiment, agent=s.agent)
        for row in rows[rows["x"].notna() & (rows["x"] <= right)].itertuples():
            # Points the paper gives at the same place (DRRN and NPAE "< 0.2 at 1.5M")
            # are nudged apart so both stay visible.
            k = seen[(row.x, row.value)] = seen.get((row.x, row.value), -1) + 1
            gid = f"paper/{s.experiment}/{s.agent}/{int(row.x)}"
            plotting.draw_paper_point(ax, row.x * (1 - 0.015 * k), row.value, s.color,
                                      row.relation, gid)
            drawn.add(row.relation)
    return drawn


def _paper_points_note(data: ReportData, study: CurveStudy) -> str:
    """Footer line for paper points that lie beyond our last frame count, if any."""
    series = data.present_series(study.series)
    rows = paper_values(study.name, version=None)
    drawn = pd.Series(list(zip(rows["experiment"], rows["agent"])), index=rows.index).isin(
        {(s.experiment, s.agent) for s in series})
    points = rows[rows["x"].notna() & drawn]
    if points.empty:
        return ""
    last = max(data.curve(s, study.frame_limit)["frames"].max() for s in series)
    right = min(study.frame_limit or math.inf, last) * 1.03
    beyond = points[points["x"] > right]
    if beyond.empty:
        return ""
    where = ", ".join(sorted({plotting.format_frames(x) for x in beyond["x"]}))
    return (f"{len(beyond)} paper point(s) at {where} frames lie beyond our last frame count "
            f"({plotting.format_frames(last)}) and are not shown.")


def _absent(data: ReportData, item: str) -> list[str]:
    """The footer line naming what ``item`` lacks in partial results (none when complete)."""
    needs = items.item_needs(item)
    text = items.absence_text(needs, data.missing(needs))
    return [text] if text else []


def _switches(data: ReportData, rows: pd.DataFrame) -> list[str]:
    """The footer line naming the LLM switches behind ``rows`` (none for non-LLM figures)."""
    text = fidelity.scoring_text(data.settings, rows)
    return [text] if text else []


def _curve_footer(data: ReportData, study: CurveStudy) -> list[str]:
    """Footer of a curve figure: our data, the paper's sources, paper points not shown."""
    secondary = len(paper_values(study.name, version=None)) > 0
    lines = [plotting.runs_footer(_series_rows(data, study), study.frame_limit),
             *_absent(data, study.name),
             *_switches(data, _series_rows(data, study)),
             plotting.paper_footer(secondary=secondary, figure=False)]
    return [line for line in (*lines, _paper_points_note(data, study)) if line]


def _se_estimates(data: ReportData, study: CurveStudy) -> dict[Series, stats.Estimate]:
    return {s: data.sample_efficiency(s, study.frame_limit)
            for s in data.present_series(study.series)}


def _se_axes(ax: Axes, limit: int | None) -> None:
    cut = f" (frames ≤ {plotting.format_frames(limit)})" if limit else ""
    ax.set_title(f"Sample efficiency{cut}", fontsize=10)
    ax.set_ylabel("Sample efficiency\n(mean success rate over training)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3, axis="y")


def _draw_se_bars(ax: Axes, study: CurveStudy, estimates: dict[Series, stats.Estimate]) -> None:
    """SE of each series as a bar with its 99% interval."""
    for i, (s, est) in enumerate(estimates.items()):
        ax.bar(i, est.value, color=s.color, width=0.65, gid=f"ours/se/{s.experiment}/{s.agent}")
        plotting.error_bar(ax, i, est.low, est.high, est.value)
        top = est.value if math.isnan(est.high) else est.high
        ax.text(i, top + 0.015, f"{est.value:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(estimates)), [s.display for s in estimates], rotation=30, ha="right",
                  fontsize=8)
    _se_axes(ax, study.frame_limit)


def _draw_se_lines(ax: Axes, study: CurveStudy, estimates: dict[Series, stats.Estimate]) -> None:
    """SE against the study's variable, one line per agent, with 99% intervals (§E.5)."""
    agents = list(dict.fromkeys(s.agent for s in estimates))
    for agent in agents:
        points = sorted((study.variable[s.experiment], est, s) for s, est in estimates.items()
                        if s.agent == agent)
        x = [p[0] for p in points]
        y = [p[1].value for p in points]
        low = [p[1].value - p[1].low if not math.isnan(p[1].low) else 0 for p in points]
        high = [p[1].high - p[1].value if not math.isnan(p[1].high) else 0 for p in points]
        drawn = ax.errorbar(x, y, yerr=[low, high], color=items.agent_colour(agent), marker="o",
                            capsize=3, label=items.agent_label(agent))
        drawn.lines[0].set_gid(f"ours/se/{agent}")  # the data line only, not the caps
    ax.set_xticks(sorted(set(study.variable.values())))
    ax.set_xlabel(study.variable_label)
    _se_axes(ax, study.frame_limit)


def _legend_below(body: SubFigure, handles: list, ncols: int) -> None:
    """One legend for the whole figure, under the panels (the title keeps the top)."""
    body.legend(handles=handles, loc="outside lower center", ncols=ncols, fontsize=8.5,
                frameon=False)


def _curve_handles(ax: Axes) -> list:
    return ax.get_legend_handles_labels()[0]


# --- Q1 ---------------------------------------------------------------------------------


def q1_mixed_curves(data: ReportData, out_dir: Path, item: str) -> Figure:
    """Q1 (§E.4): success rate vs frames of the four agents on MixedTrainLocal."""
    study = items.CURVE_STUDIES[item]
    fig, body = plotting.new_figure(9, 5.6, _curve_footer(data, study))
    ax = body.add_subplot()
    series = data.present_series(study.series)
    _draw_curves(ax, data, series, study.frame_limit)
    plotting.style_curve_axes(ax, study.title, study.frame_limit)
    relations = _draw_paper_points(ax, study.name, series)
    handles = _curve_handles(ax) + plotting.paper_legend_handles(
        False, "≈" in relations, "<" in relations)
    _legend_below(body, handles, ncols=3)
    plotting.save_figure(fig, out_dir, item)
    return fig


def _variable_study(data: ReportData, study: CurveStudy,
                    footer_note: str) -> tuple[Figure, dict[str, Axes]]:
    """SE vs the study's variable, and one curve panel per setting plus a comparison (§E.5)."""
    footer = [plotting.runs_footer(_series_rows(data, study), study.frame_limit),
              *_absent(data, study.name), *_switches(data, _series_rows(data, study)),
              footer_note]
    fig, body = plotting.new_figure(15, 8.6, footer)
    axes = body.subplot_mosaic([["se", "p0", "p1"], ["se", "p2", "p3"]])
    body.suptitle(study.title, fontsize=12)
    _draw_se_lines(axes["se"], study, _se_estimates(data, study))
    styles = dict(zip(study.variable, items.COMPARISON_LINESTYLES))
    for i, (title, experiments) in enumerate(study.panels):
        series = tuple(s for s in data.present_series(study.series)
                       if s.experiment in experiments)
        comparison = styles if len(experiments) > 1 else None
        _draw_curves(axes[f"p{i}"], data, series, study.frame_limit, comparison)
        plotting.style_curve_axes(axes[f"p{i}"], title, study.frame_limit)
    style_handles = [Line2D([], [], color="black", linestyle=styles[e],
                            label=f"{study.variable[e]:g} ({study.variable_label.lower()})")
                     for e in study.variable]
    axes["p3"].legend(handles=style_handles, fontsize=7, loc="best")
    _legend_below(body, _curve_handles(axes["se"]), ncols=4)
    return fig, axes


def _se_change_box(ax: Axes, data: ReportData, study: CurveStudy, start: str, end: str) -> None:
    """Relative SE change from ``start`` to ``end``, ours beside the paper's ([S-ja], §E.5)."""
    lines = [f"SE change, {study.variable[start]:g} → {study.variable[end]:g} "
             f"{study.variable_label.lower()}:"]
    drawn = {(s.experiment, s.agent) for s in data.present_series(study.series)}
    for agent in items.Q1_AGENTS:
        if not {(start, agent), (end, agent)} <= drawn:
            continue  # an agent without both runs has no change to show
        se = {e: data.sample_efficiency(Series(e, agent), study.frame_limit).value
              for e in (start, end)}
        ours = stats.relative_change(se[end], se[start])
        paper = paper_value(study.name, experiment=end, agent=agent)
        paper_text = f"   paper ≈{plotting.percent(paper)}*" if not math.isnan(paper) else ""
        lines.append(f"{items.agent_label(agent)}: ours {plotting.percent(ours)}{paper_text}")
    lines.append("* secondary summary [S-ja], unverified")
    ax.text(0.97, 0.97, "\n".join(lines), transform=ax.transAxes, ha="right", va="top",
            fontsize=8, bbox=dict(boxstyle="round", facecolor="white", edgecolor="#aaaaaa"),
            gid="paper/se_change")


def q1_action_space(data: ReportData, out_dir: Path, item: str) -> Figure:
    """Q1 (§E.5): sample efficiency with 3, 6 and 9 actions, and the curves behind it."""
    study = items.CURVE_STUDIES[item]
    note = "The paper's SE values for this study could not be retrieved (§E.5, §H.9)."
    fig, _ = _variable_study(data, study, note)
    plotting.save_figure(fig, out_dir, item)
    return fig


def q1_distractors(data: ReportData, out_dir: Path, item: str) -> Figure:
    """Q1 (§E.5): SE with 4, 8 and 16 distractors; the paper's relative drop beside ours.

    The drop is from the first to the second experiment of the spec's ``se_change``.
    """
    study = items.CURVE_STUDIES[item]
    fig, axes = _variable_study(data, study, plotting.paper_footer(secondary=True, figure=False))
    _se_change_box(axes["se"], data, study, *study.se_change)
    plotting.save_figure(fig, out_dir, item)
    return fig


# --- Q2/Q3 ------------------------------------------------------------------------------


def _need_rows(data: ReportData, item: str) -> pd.DataFrame:
    """Every episode row an item draws (for its footer counts), each group once."""
    needs = [n for n in items.item_needs(item) if n.kind == "episodes"]
    frames = [data.test_rows(n.experiment, n.agent, n.test) for n in needs]
    return pd.concat(frames, ignore_index=True)


def _bar_label(ax: Axes, x: float, top: float, ours: str, paper: str) -> None:
    ax.text(x, top + 0.02, ours, ha="center", va="bottom", fontsize=7.5, fontweight="bold")
    if paper:
        ax.text(x, top + 0.085, f"paper {paper}", ha="center", va="bottom", fontsize=6.5,
                color=plotting.FOOTER_COLOUR)


def _generalisation_panel(ax: Axes, data: ReportData, panel: Panel,
                          agents: tuple[str, ...]) -> None:
    """Bars of one panel: light reference bar, our bar ± 99% CI, paper diamond, % labels.

    ``agents`` are the agents the figure draws; one without this panel's test keeps
    its slot, empty, so an agent sits at the same place in every panel.
    """
    for i, agent in enumerate(agents):
        if not data.has_test(panel.experiment, agent, panel.test):
            continue
        colour = items.agent_colour(agent)
        ours = data.test_stat(panel.experiment, agent, panel.test)
        top = ours["ci99_high"] if not math.isnan(ours["ci99_high"]) else ours["mean"]
        label, paper_label = f"{ours['mean']:.2f}", ""
        if panel.reference_test and data.has_test(panel.experiment, agent, panel.reference_test):
            ref = data.test_stat(panel.experiment, agent, panel.reference_test)["mean"]
            ax.bar(i, ref, width=0.8, color=colour, alpha=0.28,
                   gid=f"reference/{panel.experiment}/{agent}/{panel.reference_test}")
            top = max(top, ref)
            label = plotting.percent(stats.relative_change(ours["mean"], ref))
            rows = paper_values(items.GENERALISATION_FIGURE, experiment=panel.experiment,
                                test=panel.test, agent=agent)
            paper_label = rows["label"].iloc[0].replace("-", "−") if len(rows) else ""
        ax.bar(i, ours["mean"], width=0.55, color=colour,
               gid=f"ours/{panel.experiment}/{agent}/{panel.test}")
        plotting.error_bar(ax, i, ours["ci99_low"], ours["ci99_high"], ours["mean"])
        paper = paper_value(items.GENERALISATION_FIGURE, experiment=panel.experiment,
                            test=panel.test, agent=agent)
        if not math.isnan(paper):
            ax.plot([i], [paper], gid=f"paper/{panel.experiment}/{agent}/{panel.test}",
                    **plotting.PAPER_MARKER)
            top = max(top, paper)
        _bar_label(ax, i, top, label, paper_label)
    question = f"  [{panel.question}]" if panel.question else ""
    ax.set_title(f"{panel.title}{question}", fontsize=10)
    ax.set_xticks(range(len(agents)), [items.agent_label(a) for a in agents],
                  rotation=25, ha="right", fontsize=8)
    ax.set_ylim(0, 1.25)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("Success rate")
    ax.grid(alpha=0.3, axis="y")


def _french_line(data: ReportData, french: pd.DataFrame) -> str:
    """Panel (f)'s footer line: the French goal and, where recorded, the scored action names."""
    candidates = fidelity.french_candidates_text(data.protocols, french)
    return (f"(f) {fidelity.french_goal_text(data.settings, french)}"
            + (f"; {candidates}" if candidates else ""))


def q2q3_generalisation(data: ReportData, out_dir: Path, item: str) -> Figure:
    """Q2/Q3 (§E.3): panels (a)–(f), light bars = reference, labels = relative change in %."""
    rows = _need_rows(data, item)
    french = rows[rows["test"] == "french"]
    drawn = set(rows["agent"])
    agents = tuple(a for a in items.GENERALISATION_AGENTS if a in drawn)
    footer = [plotting.episodes_footer(rows), *_absent(data, item),
              fidelity.protocol_text(data.settings, data.protocols, rows),
              *_switches(data, rows),
              *([_french_line(data, french)] if len(french) else []),
              "Light bars: the agent's own reference — (a) Training tasks for (b), (c), (e); "
              "English GoToLocal for (f). Bold labels: our relative change vs that reference "
              "(value for (a), (d)); grey labels: the paper's printed change.",
              plotting.paper_footer()]
    fig, body = plotting.new_figure(15, 9.5, footer)
    axes = body.subplots(2, 3).ravel()
    for ax, panel in zip(axes, items.GENERALISATION_PANELS):
        _generalisation_panel(ax, data, panel, agents)
    body.suptitle("Generalisation to new objects (Q2) and new tasks (Q3)", fontsize=12)
    handles = [Patch(color=items.agent_colour(a), label=items.agent_label(a)) for a in agents]
    handles += [Patch(color="#999999", alpha=0.28, label="reference (light bar)"),
                *plotting.paper_legend_handles(True, False)]
    _legend_below(body, handles, ncols=len(handles))
    plotting.save_figure(fig, out_dir, item)
    return fig


# --- Q4 ---------------------------------------------------------------------------------


def q4_online_vs_bc(data: ReportData, out_dir: Path, item: str) -> Figure:
    """Q4 (§E.6): GFlan-T5 trained online vs behavioural cloning on the same env."""
    spec = items.ONLINE_VS_BC
    series = [s for s in spec.series if data.has_test(s.experiment, s.agent, spec.test)]
    rows = pd.concat([data.test_rows(s.experiment, s.agent, spec.test) for s in series])
    bot = paper_values(spec.name, agent="bot")
    footer = [plotting.episodes_footer(rows), *_absent(data, item),
              fidelity.protocol_text(data.settings, data.protocols, rows),
              *_switches(data, rows),
              plotting.paper_footer(secondary=len(bot) > 0, figure=False)]
    fig, body = plotting.new_figure(7, 5.4, footer)
    ax = body.add_subplot()
    for i, s in enumerate(series):
        est = data.test_stat(s.experiment, s.agent, spec.test)
        ax.bar(i, est["mean"], color=s.color, width=0.6,
               gid=f"ours/{s.experiment}/{s.agent}/{spec.test}")
        plotting.error_bar(ax, i, est["ci99_low"], est["ci99_high"], est["mean"])
        ax.text(i, est["mean"] / 2, f"{est['mean']:.2f}", ha="center", va="center", fontsize=10,
                color="white", fontweight="bold")
    if len(bot):
        ax.axhline(bot["value"].iloc[0], color="black", linestyle="--", linewidth=1,
                   label="BabyAI bot, the BC-Bot demonstrator: ≈100% (secondary summary [S-ja])")
        _legend_below(body, ax.get_legend_handles_labels()[0], ncols=1)
    ax.set_xticks(range(len(series)), [s.display for s in series])
    ax.set_ylabel(f"Success rate — {items.label_for_test(spec.test)}")
    ax.set_ylim(0, 1.08)
    ax.set_title(spec.title, fontsize=11)
    ax.grid(alpha=0.3, axis="y")
    plotting.save_figure(fig, out_dir, item)
    return fig


# --- Appendix and beyond: curves + sample efficiency ------------------------------------


def curves_and_se(data: ReportData, out_dir: Path, item: str) -> Figure:
    """Training curves (left) and sample efficiency per series (right) of a curve study.

    The appendix studies (§E.7: model size, pretraining, prompt length, GoToRedBall)
    and the scorer comparison beyond the paper (§H.1).
    """
    study = items.CURVE_STUDIES[item]
    fig, body = plotting.new_figure(13, 5.2, _curve_footer(data, study))
    curves_ax, se_ax = body.subplots(1, 2, width_ratios=[1.6, 1])
    series = data.present_series(study.series)
    _draw_curves(curves_ax, data, series, study.frame_limit)
    plotting.style_curve_axes(curves_ax, "Training curves", study.frame_limit)
    relations = _draw_paper_points(curves_ax, study.name, series)
    handles = _curve_handles(curves_ax) + plotting.paper_legend_handles(
        False, "≈" in relations, "<" in relations)
    _legend_below(body, handles, ncols=min(6, len(handles)))
    estimates = _se_estimates(data, study)
    if study.variable:
        _draw_se_lines(se_ax, study, estimates)
    else:
        _draw_se_bars(se_ax, study, estimates)
    body.suptitle(study.title, fontsize=12)
    plotting.save_figure(fig, out_dir, item)
    return fig


# --- Appendix: policy evolution ----------------------------------------------------------


def policy_curves(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean probability over seeds per (prompt, action, update), as the paper's plot (§E.7)."""
    grouped = rows.groupby(["prompt_id", "action", "update"], sort=True)["probability"]
    return grouped.mean().reset_index()


def appendix_policy_evolution(data: ReportData, out_dir: Path, item: str) -> Figure:
    """Appendix (§E.7): action probabilities on the monitoring prompts vs update."""
    series = items.POLICY_EVOLUTION
    rows = data.policy_rows(series)
    curves = policy_curves(rows)
    prompts = sorted(curves["prompt_id"].unique())
    actions = list(pd.unique(rows["action"]))  # in logged order
    ncols = 3
    nrows = math.ceil((len(prompts) + 1) / ncols)
    footer = [f"{plotting.policy_footer(rows)} · "
              f"{fidelity.monitoring_text(data.settings, rows)}",
              *_switches(data, rows), plotting.paper_footer(figure=False)]
    fig, body = plotting.new_figure(12, 2.4 * nrows + 0.8, footer)
    axes = body.subplots(nrows, ncols, sharex=True, sharey=True).ravel()
    colours = {a: f"C{i % 10}" for i, a in enumerate(actions)}
    for ax, prompt in zip(axes, prompts):
        one = curves[curves["prompt_id"] == prompt]
        for action, line in one.groupby("action", sort=False):
            ax.plot(line["update"], line["probability"], color=colours[action], label=action,
                    linewidth=1.2, gid=f"ours/policy/{prompt}/{action}")
        ax.set_title(f"Prompt {prompt}", fontsize=9)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    for ax in axes[len(prompts):]:
        ax.axis("off")
    for ax in axes[(nrows - 1) * ncols:]:
        ax.set_xlabel("Update")
    for ax in axes[::ncols]:
        ax.set_ylabel("Probability")
    axes[-1].legend(handles=[Line2D([], [], color=colours[a], label=a) for a in actions],
                    loc="center", title="Action", fontsize=9)
    body.suptitle(f"Policy evolution — {series.display}, {series.experiment}", fontsize=12)
    plotting.save_figure(fig, out_dir, item)
    return fig


# --- Beyond the paper: per task kind ---------------------------------------------------


def _ordered(found: set[str], preferred: tuple[str, ...]) -> list[str]:
    """``found`` in the preferred order, unknown values last (alphabetically)."""
    return [v for v in preferred if v in found] + sorted(found - set(preferred))


def task_kind_matrix(data: ReportData, agent: str, tests: list[str],
                     kinds: list[str]) -> pd.DataFrame:
    """Success rate of one agent per (test, task kind); NaN where a test lacks that kind."""
    table = data.task_kinds
    rows = table[(table["experiment"] == items.TASK_KIND_EXPERIMENT) & (table["agent"] == agent)]
    matrix = rows.pivot(index="test", columns="task_kind", values="mean")
    return matrix.reindex(index=tests, columns=kinds)


def _heatmap(ax: Axes, matrix: pd.DataFrame, agent: str, show_tests: bool):
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(values), vmin=0, vmax=1, cmap="viridis", aspect="auto",
                      gid=f"ours/task_kinds/{agent}")
    for (r, c), v in np.ndenumerate(values):
        text = "–" if math.isnan(v) else f"{v:.2f}"
        ax.text(c, r, text, ha="center", va="center", fontsize=6.5, in_layout=False,
                color="white" if not math.isnan(v) and v < 0.6 else "black")
    ax.set_xticks(range(matrix.shape[1]), matrix.columns, rotation=35, ha="right", fontsize=7.5)
    labels = [items.label_for_test(t) for t in matrix.index] if show_tests else []
    ax.set_yticks(range(matrix.shape[0]), labels, fontsize=7.5)
    ax.set_title(items.agent_label(agent), fontsize=10)
    return image


def extra_task_kinds(data: ReportData, out_dir: Path, item: str) -> Figure:
    """Beyond the paper: every Mixed test result split by task kind, one heatmap per agent."""
    experiment = items.TASK_KIND_EXPERIMENT
    rows = data.episodes[data.episodes["experiment"] == experiment]
    agents = _ordered(set(rows["agent"]), items.TASK_KIND_AGENT_ORDER)
    tests = _ordered(set(rows["test"]), items.GENERALISATION_TABLE_TESTS[experiment])
    kinds = _ordered(set(rows["task_kind"]), items.TASK_KIND_ORDER)
    ncols = min(3, len(agents))
    nrows = math.ceil(len(agents) / ncols)
    cells = ("cells: success rate per task kind, per seed then averaged over seeds; "
             "– : not tested")
    footer = [plotting.episodes_footer(rows, cells), *_absent(data, item),
              fidelity.protocol_text(data.settings, data.protocols, rows),
              *_switches(data, rows), plotting.paper_footer(figure=False)]
    height = (0.28 * len(tests) + 1.6) * nrows + 0.8
    fig, body = plotting.new_figure(4.4 * ncols + 1.6, height, footer)
    axes = body.subplots(nrows, ncols, squeeze=False).ravel()
    image = None
    for i, (ax, agent) in enumerate(zip(axes, agents)):
        matrix = task_kind_matrix(data, agent, tests, kinds)
        image = _heatmap(ax, matrix, agent, show_tests=i % ncols == 0)
    for ax in axes[len(agents):]:
        ax.axis("off")
    body.colorbar(image, ax=list(axes), shrink=0.6, label="Success rate")
    body.suptitle(f"Success rate per task kind — every test on {experiment}", fontsize=12)
    plotting.save_figure(fig, out_dir, item)
    return fig


#: Figure item of the study -> the function that draws it.
FIGURES: dict[str, Callable[[ReportData, Path, str], Figure]] = {
    "q1_mixed_curves": q1_mixed_curves,
    "q1_action_space": q1_action_space,
    "q1_distractors": q1_distractors,
    "q2q3_generalisation": q2q3_generalisation,
    "q4_online_vs_bc": q4_online_vs_bc,
    "appendix_model_size": curves_and_se,
    "appendix_pretraining": curves_and_se,
    "appendix_prompt_length": curves_and_se,
    "appendix_gotoredball": curves_and_se,
    "appendix_policy_evolution": appendix_policy_evolution,
    "extra_scorer_comparison": curves_and_se,
    "extra_task_kinds": extra_task_kinds,
}


def draw_figure(item: str, data: ReportData, out_dir: Path) -> Figure:
    """Draw figure ``item`` and write ``<item>.png`` and ``<item>.pdf`` into ``out_dir``."""
    return FIGURES[item](data, out_dir, item)


def check_figures(declared: tuple[str, ...] = items.FIGURE_ITEMS) -> None:
    """Refuse a figure item without a draw function, or a draw function for no item."""
    missing = [i for i in declared if i not in FIGURES]
    extra = [i for i in FIGURES if i not in declared]
    if missing or extra:
        raise items.ReportItemError(
            f"figure items without a draw function: {missing}; draw functions for no declared "
            f"item: {extra}; make glam_bench.report.figures.FIGURES match the figure items of "
            "glam_bench.paper.study.REPORT_ITEMS")


check_figures()
