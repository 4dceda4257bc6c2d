"""Per-rule runtime breakdown of a pipeline run, from Snakemake's benchmark files.

    python workflows/rules/scripts/summarise_benchmarks.py [BENCHMARK_DIR]
    snakemake benchmark_summary          (BENCHMARK_DIR: the preset's work_dir/benchmarks)

Every job writes ``BENCHMARK_DIR/<rule>/<wildcards>.tsv`` (``benchmark:`` directive). This prints,
per rule: jobs, total and mean wall-clock seconds, total CPU seconds (what a busy machine does
not inflate), the slowest job and the peak resident memory; then the totals. Standard library
only.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


Job = tuple[str, float, float, float]  # job, wall-clock s, CPU s, max RSS MB


def _number(row: dict, key: str) -> float:
    try:
        return float(row.get(key, "nan"))
    except ValueError:
        return float("nan")


def read_benchmarks(root: Path) -> dict[str, list[Job]]:
    """rule -> [(job, seconds, cpu seconds, max_rss MB)] from every TSV under ``root``."""
    rules: dict[str, list[Job]] = {}
    for path in sorted(root.rglob("*.tsv")):
        rule = path.relative_to(root).parts[0]
        job = str(path.relative_to(root / rule).with_suffix(""))
        if rule == "report":  # report jobs sit in one folder, one file per job: name = rule
            rule, job = path.stem, ""
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                seconds = _number(row, "s")
                if seconds == seconds:  # not NaN
                    rules.setdefault(rule, []).append(
                        (job, seconds, _number(row, "cpu_time"), _number(row, "max_rss")))
    return rules


def summary_lines(rules: dict[str, list[Job]]) -> list[str]:
    header = (f"{'rule':<34} {'jobs':>5} {'total s':>10} {'mean s':>9} {'CPU s':>9} "
              f"{'max s':>9} {'max RSS MB':>11}  slowest job")
    lines = [header, "-" * len(header)]
    order = sorted(rules, key=lambda r: -sum(j[1] for j in rules[r]))
    for rule in order:
        jobs = rules[rule]
        seconds = [j[1] for j in jobs]
        cpu = sum(j[2] for j in jobs if j[2] == j[2])
        slowest = max(jobs, key=lambda j: j[1])
        rss = [j[3] for j in jobs if j[3] == j[3]]
        peak = f"{max(rss):11.0f}" if rss else f"{'-':>11}"
        lines.append(f"{rule:<34} {len(jobs):>5} {sum(seconds):>10.1f} "
                     f"{sum(seconds) / len(seconds):>9.1f} {cpu:>9.1f} {slowest[1]:>9.1f} "
                     f"{peak}  {slowest[0]}")
    total = sum(j[1] for jobs in rules.values() for j in jobs)
    cpu = sum(j[2] for jobs in rules.values() for j in jobs if j[2] == j[2])
    count = sum(len(jobs) for jobs in rules.values())
    lines += ["-" * len(header),
              f"{'all rules':<34} {count:>5} {total:>10.1f} {'':>9} {cpu:>9.1f}"]
    return lines


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "work/benchmarks")
    if not root.is_dir():
        print(f"{root}: no benchmark folder (run the pipeline first)", file=sys.stderr)
        return 1
    rules = read_benchmarks(root)
    if not rules:
        print(f"{root}: no benchmark files", file=sys.stderr)
        return 1
    print(f"per-rule wall-clock time from {root}")
    print("\n".join(summary_lines(rules)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
