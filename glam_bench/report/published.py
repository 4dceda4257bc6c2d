"""The paper's own numbers (``paper_reference.csv``) and how to look them up.

The paper's tables could not be read (§0), so every value is either measured
from the authors' figure PNGs ([FIG-v2], [FIG-v1], ±0.005) or taken from a
secondary summary ([S-ja], an issue comment) and flagged ``secondary``. Each
row says which in ``provenance``; figures show that wording in their legends.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import pandas as pd

from glam_bench.report.items import PAPER_REFERENCE_PATH

#: The reference table shipped with the package.
REFERENCE_PATH = PAPER_REFERENCE_PATH
REFERENCE_COLUMNS: tuple[str, ...] = (
    "item", "experiment", "test", "agent", "x", "value", "ci_low", "ci_high",
    "relation", "label", "version", "source", "secondary", "provenance",
)
#: Legend wording for values measured on the published figure, and for secondary ones.
FIGURE_LEGEND = "paper (read from figure)"
SECONDARY_LEGEND = "paper (secondary summary, unverified)"


@lru_cache(maxsize=4)
def load_paper_reference(path: Path = REFERENCE_PATH) -> pd.DataFrame:
    """The reference table as a frame: numeric ``x``/``value``/CI, boolean ``secondary``."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in REFERENCE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: paper reference lacks columns {missing}")
    for column in ("x", "value", "ci_low", "ci_high"):
        frame[column] = pd.to_numeric(frame[column].replace("", math.nan))
    frame["secondary"] = frame["secondary"].str.lower().eq("true")
    return frame


def paper_values(item: str, version: str | None = "v2", **where: str) -> pd.DataFrame:
    """Reference rows of one item, optionally one version, filtered by column values.

    Example: ``paper_values("q2q3_generalisation", test="french", agent="gflan")``.
    """
    frame = load_paper_reference()
    mask = frame["item"] == item
    if version is not None:
        mask &= frame["version"] == version
    for column, value in where.items():
        mask &= frame[column] == value
    return frame[mask]


def paper_value(item: str, version: str = "v2", **where: str) -> float:
    """The single reference value matching the filters, NaN when the paper has none."""
    rows = paper_values(item, version, **where)
    if len(rows) > 1:
        raise ValueError(f"{len(rows)} paper values match {item} {version} {where}")
    return float(rows["value"].iloc[0]) if len(rows) else math.nan
