"""The reporting layer: every paper figure and table, rebuilt from result files (§E, §G).

Modules, one concept each:

- ``items``: what each figure/table of ``glam_bench.study.REPORT_ITEMS`` shows
  (experiments, agents, tests), as data, checked against the study at import.
- ``data``: find, read and validate result files; cached aggregates.
- ``stats``: success rates, the paper's 99% interval, IQM + bootstrap, curves, SE.
- ``paper`` / ``paper_reference.csv``: the paper's own numbers and their provenance.
- ``plotting``: shared drawing helpers; ``figures``: the draw function of each figure item.
- ``tables``: the generalisation table (CSV, Markdown, LaTeX).
- ``summaries``: the aggregated CSVs written beside the figures.
- ``build``: :func:`build_report`, the entry point.
- ``synthetic``: synthetic result sets in the exact schemas (tests, benchmarks, demos).
"""

from glam_bench.report.build import ReportSummary, build_report

__all__ = ["ReportSummary", "build_report"]
