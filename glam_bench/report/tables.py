"""The generalisation table (§E.3, §D.1): ours beside the paper's, as CSV, Markdown, LaTeX.

One row per (test, agent): our mean ± the paper's 99% interval, our IQM with
its bootstrap interval, the paper's v2 and v1 values and the difference, and
the relative change against the test's reference as the figure prints it.
The Markdown and LaTeX are written by hand (a few lines) to need no extra
dependency.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from glam_bench.report import fidelity, items, stats
from glam_bench.report.data import ReportData
from glam_bench.report.published import paper_values
from glam_bench.runtime.results import atomic_open

#: The paper values of the table are those of the generalisation figure.
ITEM = items.GENERALISATION_FIGURE

#: Column headers of the formatted table, in order.
HEADERS: tuple[str, ...] = (
    "Test", "Agent", "Seeds", "Ours: mean ± 99% CI", "Ours: IQM [99% CI]", "Paper v2",
    "Ours − paper v2", "Paper v1", "Rel. change (ours)", "Rel. change (paper v2)",
)


def _paper(experiment: str, test: str, agent: str, version: str) -> pd.Series | None:
    rows = paper_values(ITEM, version, experiment=experiment, test=test, agent=agent)
    return rows.iloc[0] if len(rows) else None


def generalisation_table(data: ReportData) -> pd.DataFrame:
    """Numeric table: every generalisation test and agent that has episodes."""
    rows = []
    for experiment, tests in items.GENERALISATION_TABLE_TESTS.items():
        for test in tests:
            for agent in items.GENERALISATION_AGENTS:
                if not len(data.test_rows(experiment, agent, test)):
                    continue
                rows.append(_table_row(data, experiment, test, agent))
    return pd.DataFrame(rows)


def _table_row(data: ReportData, experiment: str, test: str, agent: str) -> dict:
    ours = data.test_stat(experiment, agent, test)
    v2, v1 = (_paper(experiment, test, agent, v) for v in ("v2", "v1"))
    reference = items.REFERENCE_TESTS.get(test)
    change = math.nan
    if reference and len(data.test_rows(experiment, agent, reference)):
        reference_mean = data.test_stat(experiment, agent, reference)["mean"]
        change = stats.relative_change(ours["mean"], reference_mean)
    paper_v2 = v2["value"] if v2 is not None else math.nan
    return {
        "experiment": experiment, "test": test, "agent": agent,
        **{k: ours[k] for k in ("n_seeds", "episodes_min", "episodes_max", "mean", "ci99_low",
                                "ci99_high", "ci99_half_width", "iqm", "iqm_low", "iqm_high",
                                "note")},
        "paper_v2": paper_v2,
        "paper_v2_relation": v2["relation"] if v2 is not None else "",
        "paper_v2_ci_low": v2["ci_low"] if v2 is not None else math.nan,
        "paper_v2_ci_high": v2["ci_high"] if v2 is not None else math.nan,
        "difference_v2": ours["mean"] - paper_v2,
        "paper_v1": v1["value"] if v1 is not None else math.nan,
        "relative_change": change,
        "paper_relative_change_label": v2["label"] if v2 is not None else "",
    }


# --- Formatting ------------------------------------------------------------------


def _num(value: float, signed: bool = False) -> str:
    if math.isnan(value):
        return "—"
    text = f"{value:+.2f}" if signed else f"{value:.2f}"
    return text.replace("-", "−")


def _format_row(row: pd.Series) -> list[str]:
    ours = (f"{_num(row['mean'])} ± {_num(row['ci99_half_width'])}" if row["n_seeds"] > 1
            else f"{_num(row['mean'])} (1 seed, no CI)")
    iqm = f"{_num(row['iqm'])} [{_num(row['iqm_low'])}, {_num(row['iqm_high'])}]"
    paper = _num(row["paper_v2"])
    if row["paper_v2_relation"] == "≈":
        paper = f"≈{paper}"
    if not math.isnan(row["paper_v2_ci_low"]):
        paper += f" [{_num(row['paper_v2_ci_low'])}, {_num(row['paper_v2_ci_high'])}]"
    change = row["relative_change"]
    return [
        items.label_for_test(row["test"]), items.agent_label(row["agent"]),
        str(int(row["n_seeds"])),
        ours, iqm, paper, _num(row["difference_v2"], signed=True), _num(row["paper_v1"]),
        "—" if math.isnan(change) else f"{change * 100:+.0f}%".replace("-", "−"),
        (row["paper_relative_change_label"] or "—").replace("-", "−"),
    ]


def to_markdown(table: pd.DataFrame) -> str:
    """The formatted table as a GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for _, row in table.iterrows():
        cells = [c.replace("|", "\\|") for c in _format_row(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "±": r"$\pm$", "−": r"$-$", "≈": r"$\approx$",
                  "—": "---"}


def latex_escape(text: str) -> str:
    """Escape LaTeX specials and map the Unicode signs the table uses to math mode."""
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


def latex_table(headers: Sequence[str], rows: Iterable[Sequence[str]], caption: str,
                label: str, align: str) -> str:
    """A booktabs ``table`` environment: two left columns, then ``align`` for the others."""
    header = " & ".join(latex_escape(h) for h in headers) + r" \\"
    body = [" & ".join(latex_escape(c) for c in row) + r" \\" for row in rows]
    return "\n".join([
        r"\begin{table}[t]", r"\centering", r"\scriptsize",
        r"\begin{tabular}{ll" + align * (len(headers) - 2) + "}", r"\toprule", header,
        r"\midrule", *body, r"\bottomrule", r"\end{tabular}",
        rf"\caption{{{latex_escape(caption)}}}", rf"\label{{tab:{label}}}", r"\end{table}", "",
    ])


def to_latex(table: pd.DataFrame, caption: str) -> str:
    """The formatted table as a booktabs ``table`` environment."""
    return latex_table(HEADERS, (_format_row(row) for _, row in table.iterrows()), caption,
                       "generalisation", "r")


def _caption(data: ReportData, table: pd.DataFrame) -> str:
    presets = ", ".join(sorted(data.episodes["preset"].astype(str).unique()))
    episodes = pd.concat([table["episodes_min"], table["episodes_max"]])
    french = data.episodes[data.episodes["test"] == "french"]
    return (f"Generalisation tests (preset {presets}; {stats.count_range(table['n_seeds'])} "
            f"seeds, {stats.count_range(episodes)} episodes per seed). Ours: mean over seeds "
            "± 2.576 sd/sqrt(n) (99% CI, D.1) and IQM with a stratified-bootstrap 99% CI. "
            "Paper values measured on the published figure (FIG-v2 / FIG-v1), ±0.005. "
            f"{fidelity.protocol_text(data.settings, data.protocols, data.episodes)}. "
            f"{fidelity.scoring_text(data.settings, data.episodes)}. "
            f"{fidelity.french_goal_text(data.settings, french)}"
            + _candidates(data, french) + "." + _absence(data))


def _candidates(data: ReportData, french: pd.DataFrame) -> str:
    """'; scored candidates: ...' where the French tests' records say, else ''."""
    text = fidelity.french_candidates_text(data.protocols, french)
    return f"; {text}" if text else ""


def _absence(data: ReportData) -> str:
    """' <what is missing>' when the table is drawn from partial results, else ''."""
    needs = items.item_needs(items.GENERALISATION_TABLE)
    text = items.absence_text(needs, data.missing(needs))
    return f" {text}" if text else ""


def write_generalisation_tables(data: ReportData, out_dir: Path) -> list[Path]:
    """Write the generalisation table as ``<item>.{csv,md,tex}``; returns the paths."""
    table = generalisation_table(data)
    caption = _caption(data, table)
    outputs = {
        "csv": table.to_csv(index=False),
        "md": f"{caption}\n\n{to_markdown(table)}",
        "tex": to_latex(table, caption),
    }
    paths = []
    for suffix, text in outputs.items():
        path = out_dir / f"{items.GENERALISATION_TABLE}.{suffix}"
        with atomic_open(path) as handle:
            handle.write(text)
        paths.append(path)
    return paths
