"""Drawing helpers every figure shares: canvas, footer, curves, paper markers, saving.

Figures are built as ``matplotlib.figure.Figure`` objects on an Agg canvas,
never through pyplot, so the report changes no global matplotlib state and
leaks no open figures. Every artist that carries one of our numbers gets a
``gid`` ("ours/<experiment>/<agent>/...") so tests can read back exactly what
was drawn.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from glam_bench.report import stats
from glam_bench.report.published import FIGURE_LEGEND, SECONDARY_LEGEND
from glam_bench.runtime.results import atomic_open

#: Resolution of the PNG files; the PDF is vector.
PNG_DPI = 150
#: Height of one footer line, in inches.
FOOTER_LINE_INCHES = 0.15
#: Footer characters per inch of figure width (7-pt DejaVu Sans).
FOOTER_CHARS_PER_INCH = 17
FOOTER_COLOUR = "#555555"
PAPER_MARKER = dict(marker="D", markersize=6, markerfacecolor="white", markeredgecolor="black",
                    markeredgewidth=1.2, linestyle="none", zorder=6)
SECONDARY_MARKER = dict(marker="*", markersize=11, markeredgecolor="black", markeredgewidth=0.8,
                        linestyle="none", zorder=6)
UPPER_BOUND_MARKER = dict(marker="v", markersize=8, markeredgecolor="black", markeredgewidth=0.8,
                          linestyle="none", zorder=6)


# --- Canvas and footer -----------------------------------------------------------


def new_figure(width: float, height: float, footer: list[str]) -> tuple[Figure, SubFigure]:
    """A figure on an Agg canvas: a body to draw in, and ``footer`` lines under it.

    The body is a constrained-layout subfigure, so its titles, legends
    ("outside lower center") and tick labels never run into the footer, which
    sits in its own strip at the bottom. Draw in the body; save the figure.
    """
    lines = [w for line in footer for w in textwrap.wrap(line, int(FOOTER_CHARS_PER_INCH * width))]
    strip = len(lines) * FOOTER_LINE_INCHES + 0.12
    figure = Figure(figsize=(width, height + strip), layout="constrained")
    FigureCanvasAgg(figure)
    body, bottom = figure.subfigures(2, 1, height_ratios=[height, strip])
    bottom.text(0.005, 0.95, "\n".join(lines), ha="left", va="top", fontsize=7,
                color=FOOTER_COLOUR, linespacing=1.4)
    return figure, body


def _identity_text(rows: pd.DataFrame) -> str:
    presets = ", ".join(sorted(rows["preset"].astype(str).unique()))
    models = ", ".join(sorted(rows["model"].astype(str).unique()))
    return f"preset {presets} · models {models}"


#: What the bars of a test-result figure are, for its footer.
BARS_STATISTIC = ("bars: mean over seeds of the per-seed success rate, error bars "
                  "± 2.576·sd/√n (99% CI, §D.1)")


def episodes_footer(rows: pd.DataFrame, statistic: str = BARS_STATISTIC) -> str:
    """Footer line for figures of test results: preset, models, seeds and episodes behind them."""
    seeds = rows.groupby(["experiment", "agent", "test"])["seed"].nunique()
    episodes = rows.groupby(["experiment", "agent", "test", "seed"]).size()
    note = " (1 seed: no interval shown)" if seeds.min() == 1 else ""
    return (f"Ours: {_identity_text(rows)} · {stats.count_range(seeds)} seeds per agent and "
            f"test{note} · {stats.count_range(episodes)} test episodes per seed · {statistic}")


def policy_footer(rows: pd.DataFrame) -> str:
    """Footer line for the policy-evolution figure: runs, seeds and updates behind it."""
    pairs = rows[["experiment", "agent"]].drop_duplicates().itertuples(index=False)
    runs = ", ".join(sorted(f"{e}/{a}" for e, a in pairs))
    return (f"Ours: {runs} · {_identity_text(rows)} · {rows['seed'].nunique()} seeds averaged · "
            f"{rows['update'].nunique()} updates · "
            f"{rows['prompt_id'].nunique()} monitoring prompts")


def runs_footer(rows: pd.DataFrame, limit: int | None) -> str:
    """Footer line for figures of training logs: preset, models, seeds, updates, frame limit."""
    seeds = rows.groupby(["experiment", "agent"])["seed"].nunique()
    updates = rows.groupby(["experiment", "agent", "seed"]).size()
    cut = f", frames ≤ {format_frames(limit)}" if limit else ""
    note = " (1 seed: no band/interval)" if seeds.min() == 1 else ""
    return (f"Ours: {_identity_text(rows)} · {stats.count_range(seeds)} seeds per curve{note} · "
            f"{stats.count_range(updates)} updates per run{cut} · curves: rolling mean over "
            f"{stats.CURVE_WINDOW} updates, mean ± 1 sd across seeds (§G)")


def paper_footer(secondary: bool = False, figure: bool = True) -> str:
    """Footer line naming where the paper's values come from."""
    parts = []
    if figure:
        parts.append("◇ paper values measured on the authors' published figure [FIG-v2], ±0.005")
    if secondary:
        parts.append("paper values from secondary summaries ([S-ja], issue comments), unverified")
    return " · ".join(parts) if parts else "The paper gives no number for this item."


# --- Axes helpers ----------------------------------------------------------------


def format_frames(value: float, _position: object = None) -> str:
    """Compact frame counts for axes: 250k, 1.5M."""
    if value >= 1e6:
        return f"{value / 1e6:.3g}M"
    if value >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.0f}"


def style_curve_axes(ax: Axes, title: str, limit: int | None) -> None:
    """Axes of a training-curve panel: the paper's labels (§G), 0–1 success.

    The x range ends at the frame limit or at our last frame count if runs are
    shorter (the tiny presets), with a little room for end-of-training markers.
    """
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("Frames")
    ax.set_ylabel("Average success rate")
    ax.set_ylim(0, 1.02)
    ours = [line.get_xdata() for line in ax.lines if (line.get_gid() or "").startswith("ours/")]
    last = max((float(np.max(x)) for x in ours if len(x)), default=limit or 1.0)
    ax.set_xlim(0, min(limit or math.inf, last) * 1.03)
    ax.xaxis.set_major_formatter(FuncFormatter(format_frames))
    ax.grid(alpha=0.3)


def draw_curve(ax: Axes, curve: pd.DataFrame, colour: str, label: str, gid: str,
               linestyle: str = "-", band: bool = True) -> Line2D:
    """Mean curve with a ±1 sd band across seeds (no band where one seed reaches)."""
    (line,) = ax.plot(curve["frames"], curve["mean"], color=colour, label=label,
                      linestyle=linestyle, linewidth=1.6, gid=gid)
    if band:
        std = curve["std"].fillna(0.0)
        ax.fill_between(curve["frames"], curve["mean"] - std, curve["mean"] + std,
                        color=colour, alpha=0.18, linewidth=0)
    return line


def draw_paper_point(ax: Axes, x: float, y: float, colour: str, relation: str, gid: str) -> Line2D:
    """A secondary-source value on a curve plot: a star (≈) or a down-triangle (<)."""
    style = UPPER_BOUND_MARKER if relation == "<" else SECONDARY_MARKER
    (marker,) = ax.plot([x], [y], color=colour, gid=gid, clip_on=False, **style)
    return marker


def paper_legend_handles(figure: bool, secondary: bool, upper_bound: bool = False) -> list[Line2D]:
    """Legend entries that explain the paper markers used on a figure."""
    handles = []
    if figure:
        handles.append(Line2D([], [], label=FIGURE_LEGEND, **PAPER_MARKER))
    if secondary:
        handles.append(Line2D([], [], color="#cccccc", label=f"{SECONDARY_LEGEND}, ≈ value",
                              **SECONDARY_MARKER))
    if upper_bound:
        handles.append(Line2D([], [], color="#cccccc", label=f"{SECONDARY_LEGEND}, upper bound",
                              **UPPER_BOUND_MARKER))
    return handles


def error_bar(ax: Axes, x: float, estimate_low: float, estimate_high: float, value: float) -> None:
    """The 99% interval of one bar; nothing when the interval is undefined (one seed)."""
    if math.isnan(estimate_low):
        return
    ax.errorbar([x], [value], yerr=[[value - estimate_low], [estimate_high - value]],
                color="black", capsize=3, linewidth=1, zorder=5)


def percent(change: float) -> str:
    """Relative change as the figure labels print it: +7%, −6%, n/a."""
    if math.isnan(change):
        return "n/a"
    rounded = int(np.round(change * 100))
    sign = "+" if rounded > 0 else ("−" if rounded < 0 else "")
    return f"{sign}{abs(rounded)}%"


# --- Saving -----------------------------------------------------------------------


def save_figure(figure: Figure, out_dir: Path, name: str) -> list[Path]:
    """Write ``name``.png and ``name``.pdf atomically; returns both paths.

    The PDF carries no creation date, so the same results give the same bytes.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in ("png", "pdf"):
        path = out_dir / f"{name}.{fmt}"
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        with atomic_open(path, "wb") as handle:
            figure.savefig(handle, format=fmt, dpi=PNG_DPI, metadata=metadata)
        paths.append(path)
        # The layout solved for the PNG holds for the PDF too (same inches and
        # points); freezing it saves re-solving, a large share of render time.
        figure.set_layout_engine(None)
    return paths
