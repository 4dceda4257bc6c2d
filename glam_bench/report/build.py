"""Entry point of the report: every figure, table and summary from one results folder.

Order matters for honesty: all result files are read and validated first, so
a truncated or malformed file raises before anything is written. Then each
item that has at least one of its result groups is built from what is there
(a campaign that ran some agents, or has not finished): its footer or caption
names what is absent, and the build logs it. An item with none of its results
is skipped with one line naming exactly what is missing, and any figure it left
from an earlier run is removed so no stale figure passes for a current one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from glam_bench.report import items, stats
from glam_bench.report.data import ReportData, ReportError, load_report_data, unfinished_runs
from glam_bench.report.figures import draw_figure
from glam_bench.report.prompt_table import write_prompt_tables
from glam_bench.report.reproduction import write_reproduction_table
from glam_bench.report.summaries import write_summaries
from glam_bench.report.tables import write_generalisation_tables

#: Suffixes an item may have written; removed when the item is skipped.
OUTPUT_SUFFIXES: tuple[str, ...] = (".png", ".pdf", ".md", ".tex", ".csv")


@dataclass
class ReportSummary:
    """What :func:`build_report` produced, skipped, and how long it took."""

    out_dir: Path
    built: dict[str, list[Path]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    #: Items built from part of their results: item -> what was missing.
    partial: dict[str, str] = field(default_factory=dict)
    summaries: list[Path] = field(default_factory=list)
    #: Wall-clock and CPU seconds of the whole build (CPU time is what a busy
    #: shared machine does not inflate).
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    @property
    def figures(self) -> list[Path]:
        return [p for paths in self.built.values() for p in paths if p.suffix in (".png", ".pdf")]

    def __str__(self) -> str:
        lines = [f"report: {len(self.built)} items built, {len(self.skipped)} skipped, "
                 f"{self.seconds:.1f} s ({self.cpu_seconds:.1f} s CPU) -> {self.out_dir}"]
        lines += [f"  {message}" for message in self.skipped.values()]
        lines += [f"  {message}" for message in self.partial.values()]
        return "\n".join(lines)


def _builders() -> dict[str, Callable[[ReportData, Path], list[Path]]]:
    """Item name -> function that writes the item and returns its files."""
    def figure(name: str) -> Callable[[ReportData, Path], list[Path]]:
        def build(data: ReportData, out_dir: Path) -> list[Path]:
            draw_figure(name, data, out_dir)
            return [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
        return build

    builders = {name: figure(name) for name in items.FIGURE_ITEMS}
    builders[items.GENERALISATION_TABLE] = write_generalisation_tables
    builders[items.PROMPT_TABLE] = write_prompt_tables
    builders[items.REPRODUCTION_TABLE] = write_reproduction_table
    return builders


def _remove_stale(out_dir: Path, item: str) -> None:
    for suffix in OUTPUT_SUFFIXES:
        (out_dir / f"{item}{suffix}").unlink(missing_ok=True)


def _skip_message(item: str, missing: list[items.Need]) -> str:
    return f"skipped {item}: missing {'; '.join(str(n) for n in missing)}"


def _partial_message(item: str, missing: list[items.Need]) -> str:
    return f"built {item} without: {'; '.join(str(n) for n in missing)}"


def build_report(
    results_dir: Path,
    out_dir: Path,
    preset: str | None = None,
    only: tuple[str, ...] | None = None,
    progress: bool = True,
    n_resamples: int = stats.BOOTSTRAP_RESAMPLES,
    log: Callable[[str], None] = tqdm.write,
) -> ReportSummary:
    """Build every figure, table and summary CSV of the report into ``out_dir``.

    ``results_dir`` is searched recursively for result files (any layout).
    ``preset`` keeps one scale preset's rows; ``only`` restricts the items
    (names from ``items.FIGURE_ITEMS`` and ``items.TABLE_ITEMS``). Raises
    :class:`glam_bench.runtime.results.ResultFileError` on a malformed or repeated
    result file, before writing anything.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    builders = _builders()
    names = [n for n in (*items.FIGURE_ITEMS, *items.TABLE_ITEMS) if only is None or n in only]
    unknown = sorted(set(only or ()) - set(builders))
    if unknown:
        raise ReportError(f"unknown report items {unknown}; choose among {sorted(builders)}")
    data = load_report_data(results_dir, preset=preset, n_resamples=n_resamples)
    waiting = unfinished_runs(results_dir)
    if waiting:
        log(f"report: ignored {len(waiting)} unfinished run(s) (no done.json), e.g. {waiting[0]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = ReportSummary(out_dir)
    log(f"report: {len(data.train)} training-log rows, {len(data.episodes)} test episodes, "
        f"{len(data.policy)} policy-log rows from {results_dir}")
    summary.summaries = write_summaries(data, out_dir)
    for name in tqdm(names, desc="report", unit="item", disable=not progress):
        needs = items.item_needs(name)
        missing = data.missing(needs)
        if not data.drawable(needs):
            summary.skipped[name] = _skip_message(name, missing)
            _remove_stale(out_dir, name)
            log(summary.skipped[name])
            continue
        summary.built[name] = builders[name](data, out_dir)
        if missing:
            summary.partial[name] = _partial_message(name, missing)
        log(summary.partial.get(name, f"built {name}"))
    summary.seconds = time.perf_counter() - start
    summary.cpu_seconds = time.process_time() - cpu_start
    return summary
