"""The reporting layer: every paper figure and table, rebuilt from result files (§E, §G).

Modules, one concept each:

- ``items``: what each figure/table of ``glam_bench.paper.study.REPORT_ITEMS`` shows
  (experiments, agents, tests), as data, checked against the study at import.
- ``data``: find, read and validate result files; cached aggregates.
- ``stats``: success rates, the paper's 99% interval, IQM + bootstrap, curves, SE.
- ``published`` / ``paper_reference.csv``: the paper's own numbers and their provenance.
- ``plotting``: shared drawing helpers; ``figures``: the draw function of each figure item.
- ``tables``: the generalisation table (CSV, Markdown, LaTeX).
- ``summaries``: the aggregated CSVs written beside the figures.
- ``build``: :func:`build_report`, the entry point.
- ``synthetic``: synthetic result sets in the exact schemas (tests, benchmarks, demos).

The entry points are imported on first use (:mod:`glam_bench.lazy`): ``items`` is
plain data that the Snakefile reads at every start, and must not pay for
matplotlib and pandas through this package.
"""

from glam_bench.lazy import lazy_exports

__all__ = ["ReportSummary", "build_report"]
__getattr__ = lazy_exports(__name__, {"ReportSummary": "build", "build_report": "build"})
