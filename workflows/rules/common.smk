# Glue between the Snakefile and the library: the preset's plan (glam_bench.pipeline.plan: runs,
# evaluations, files, resources, run hashes) as the functions and constants the rules read,
# which report items each results source can draw, and the committed cache. Only functions and
# constants here; the rules live in the other .smk files.

import hashlib
import json
import os
import tempfile
from pathlib import Path

import yaml

from glam_bench.pipeline.cache import CacheError, cached_files, load_manifest, verify_manifest
from glam_bench.pipeline.plan import EVALUATE_RULES, TRAIN_RULES, Plan, agents_of_rule
from glam_bench.pipeline.preset_checks import check_device, check_preset, evaluation_flags, run_devices
from glam_bench.runtime.config import ConfigError

from glam_bench.report import items as ITEMS  # plain data: no matplotlib, no pandas
FIGURE_ITEMS = tuple(ITEMS.FIGURE_ITEMS)
TABLE_ITEMS = tuple(ITEMS.TABLE_ITEMS)
SUMMARY_FILES = tuple(ITEMS.SUMMARY_FILES)
TABLE_SUFFIXES = ("csv", "md", "tex")


# --- the preset and its plan ---------------------------------------------------------------


def check_before_jobs(preset, local):
    """Everything checkable before the DAG runs, each error naming its key: the grid
    (Plan.check_grid), then glam_bench.pipeline.preset_checks (agent keys, env and model names,
    learner settings, a safe preset name), and the device when jobs run on this machine
    (cluster jobs find their GPUs on the nodes)."""
    PLAN.check_grid()
    check_preset(preset, "config")
    if local:
        for device in run_devices(preset):
            check_device(device, "config: training/device")


def write_if_changed(path, text):
    """Write ``text`` to ``path`` atomically, and only when it differs (keeps its mtime)."""
    path = Path(path)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


#: The jobs of this preset (glam_bench.pipeline.plan): grid, files, resources, run hashes.
try:
    PLAN = Plan(plain(config))
except ConfigError as error:
    raise WorkflowError(f"invalid preset: config: {error}") from None

PRESET = PLAN.name
RESULTS = PLAN.results
WORK = PLAN.work
CACHE = config["cached_results_dir"]
FIGURES = config["figures_dir"]
USE_CACHE = bool(config["use_cached_results"])
EPISODES = int(config["evaluation"]["episodes"])
EVAL_ENVS = int(config["evaluation"].get("num_envs", 32))
#: The test protocol (§A.5, §D.1, §D.4): counting, task sampling (absent: each run's own) and
#: the French tests' scored names, as the evaluate flags of the preset's evaluation block.
EVAL_PROTOCOL = evaluation_flags(config["evaluation"])
SEEDS = PLAN.seeds

LOGS = os.path.join(WORK, "logs")
BENCHMARKS = os.path.join(WORK, "benchmarks")
SCRATCH = os.path.join(WORK, "report-scratch")
#: The validated, merged preset the CLI reads (--config key=value overrides included).
PRESET_FILE = PLAN.preset_file
#: Run directories, as wildcard patterns.
RUN = os.path.join(RESULTS, "runs", "{experiment}", "{agent}", "seed-{seed}")
RUN_WILDCARDS = os.path.join("{experiment}", "{agent}", "seed-{seed}")
TEST_WILDCARDS = os.path.join("{experiment}", "{agent}", "seed-{seed}", "{test}")

ALL_DONE = [PLAN.run_file(e, a, s) for e, a, s in PLAN.runs]
ALL_TESTS = [PLAN.test_file(e, a, s, t) for e, a, s, t in PLAN.evaluations]


def agent_pattern(rule):
    """The wildcard constraint of a rule: the agents whose jobs it runs."""
    return "|".join(a.replace("-", r"\-") for a in agents_of_rule(rule))


def _run(wildcards):
    return wildcards.experiment, wildcards.agent, int(wildcards.seed)


# Functions of a job's wildcards, for the rules: each asks the plan.
def run_config_sha(wildcards):
    """The run's identity (RunConfig.identity_sha): a change reruns only that run."""
    return PLAN.run_sha(*_run(wildcards))


def training_resource(name):
    """One resource of a training job (gpu, mem_mb, runtime, slurm_partition): the preset's
    resources per rule and experiment (Plan.job_resources)."""
    return lambda wildcards: PLAN.train_job(*_run(wildcards)).resources[name]


def evaluation_resource(name):
    return lambda wildcards: PLAN.evaluate_job(*_run(wildcards), wildcards.test).resources[name]


def launcher(wildcards, resources):
    return PLAN.launcher(*_run(wildcards), int(resources.get("gpu", 0) or 0))


def models_on_disk(wildcards):
    """No file: refuses, while the DAG is built (dry runs too, before any job), a job whose
    model is not on disk, naming every missing model of the planned jobs and its fetch
    command (Plan.check_models). Built-in tiny models are built by the jobs; targets that
    need no such job (figures from the cache) need no model."""
    try:
        PLAN.check_models(_run(wildcards))
    except ConfigError as error:
        raise WorkflowError(str(error)) from None
    return []


def bc_source(wildcards):
    return PLAN.bc_source(*_run(wildcards))


def results_root(wildcards):
    return RESULTS


def cache_root(wildcards):
    return CACHE


def figures_root(wildcards):
    return FIGURES


def run_directory(wildcards):
    return PLAN.run_dir(wildcards.experiment, wildcards.agent, wildcards.seed)


# --- report items: what each results source can draw -------------------------------------------


#: The agents the preset runs when it names a subset (None: every agent of each experiment).
FRESH_AGENTS = set(config["agents"]) if config.get("agents") else None


def fresh_item_inputs(item):
    """The finished runs and test CSVs an item is drawn from (every seed)."""
    files = []
    for need in ITEMS.needs_among(item, FRESH_AGENTS):
        for seed in SEEDS:
            if need.kind == "episodes":
                files.append(PLAN.test_file(need.experiment, need.agent, seed, need.test))
            else:
                files.append(PLAN.run_file(need.experiment, need.agent, seed))
    return sorted(set(files))


FRESH_AVAILABLE = PLAN.available()
FRESH_FIGURES = ITEMS.drawable(FIGURE_ITEMS, FRESH_AVAILABLE, FRESH_AGENTS)
FRESH_TABLES = ITEMS.drawable(TABLE_ITEMS, FRESH_AVAILABLE, FRESH_AGENTS)


def figure_files(item):
    return [os.path.join(FIGURES, f"{item}.{suffix}") for suffix in ("png", "pdf")]


def table_files(item):
    return [os.path.join(FIGURES, f"{item}.{suffix}") for suffix in TABLE_SUFFIXES]


SUMMARY_PATHS = [os.path.join(FIGURES, name) for name in SUMMARY_FILES]

#: The report's captions, declared in glam_bench.paper.study and written here as the .rst files
#: Snakemake's report(caption=...) reads (their Jinja is rendered by `snakemake --report`).
CAPTIONS = os.path.abspath(os.path.join(WORK, "report-captions"))


def caption_file(item):
    """The caption file of a report item (or of the summary CSVs, item "summaries")."""
    return os.path.join(CAPTIONS, f"{item}.rst")


def write_captions():
    """Write every caption file; the Snakefile calls it once the preset has passed its checks
    (a preset refused before any job writes nothing)."""
    for item in ITEMS.study.REPORT_ITEMS:
        write_if_changed(caption_file(item.name), ITEMS.study.caption_text(item))


def report_outputs(figures, tables):
    """Every file a report over these items writes into FIGURES (summaries always)."""
    files = [f for item in figures for f in figure_files(item)]
    files += [f for item in tables for f in table_files(item)]
    return files + SUMMARY_PATHS


# --- the committed cache ----------------------------------------------------------------------

MANIFEST = os.path.join(CACHE, "MANIFEST.json")
CACHE_VERIFIED = os.path.join(WORK, "cache", "verified.json")


def read_cache():
    """(manifest, problem): the cache's manifest, or why there is none usable."""
    try:
        manifest = load_manifest(CACHE)
        cached_files(manifest)
        return manifest, None
    except CacheError as error:
        return None, str(error)


CACHE_MANIFEST, CACHE_PROBLEM = read_cache()
if CACHE_MANIFEST is not None:
    CACHE_PRESET = CACHE_MANIFEST["preset"]
    CACHE_ENTRIES = cached_files(CACHE_MANIFEST)
    CACHE_DIGEST = hashlib.sha256(json.dumps(CACHE_MANIFEST["files"], sort_keys=True)
                                  .encode()).hexdigest()
else:
    CACHE_PRESET, CACHE_ENTRIES, CACHE_DIGEST = None, [], None

CACHE_AVAILABLE = {(entry.kind, entry.experiment, entry.agent, entry.test)
                   for entry in CACHE_ENTRIES
                   if entry.kind in ("train_log", "policy_log", "episodes")}
#: The agents the cache holds: a cache of some agents only (results/paper-cpu) draws over those.
CACHE_AGENTS = {entry.agent for entry in CACHE_ENTRIES}
CACHED_FIGURES = ITEMS.drawable(FIGURE_ITEMS, CACHE_AVAILABLE, CACHE_AGENTS)
CACHED_TABLES = ITEMS.drawable(TABLE_ITEMS, CACHE_AVAILABLE, CACHE_AGENTS)
CACHE_FILES = [os.path.join(CACHE, entry.path) for entry in CACHE_ENTRIES]


def figure_targets(item):
    """Rule names of the cached-figure targets of an item (fig_<item>, fig_<short>)."""
    return ITEMS.item_targets(item)


def cached_item_inputs(item):
    """The cached files an item is drawn from, all seeds."""
    needed = {(n.kind, n.experiment, n.agent, n.test) for n in ITEMS.needs_among(item, CACHE_AGENTS)}
    return [os.path.join(CACHE, e.path) for e in CACHE_ENTRIES
            if (e.kind, e.experiment, e.agent, e.test) in needed]


if USE_CACHE:
    # Refuse a damaged cache before anything starts (the figures target checks it in a job).
    if CACHE_MANIFEST is None:
        raise WorkflowError(
            f"use_cached_results is true but the cache is unusable: {CACHE_PROBLEM}")
    try:
        verify_manifest(CACHE)
    except CacheError as error:
        raise WorkflowError(str(error)) from None


# --- helpers for the rules ------------------------------------------------------------------

#: On failure, show the end of the job's log on the terminal (the user sees the CLI's one-line
#: error, e.g. a missing model, without --show-failed-logs).
SHOW_LOG_ON_FAILURE = "|| {{ echo '--- end of the job log:' >&2; tail -n 25 {log:q} >&2; exit 1; }}"


def logged(command):
    """A shell command whose output goes to the rule's log, shown again if it fails."""
    return f"( {command} ) > {{log:q}} 2>&1 {SHOW_LOG_ON_FAILURE}"


def log_file(rule_name, pattern=RUN_WILDCARDS):
    return os.path.join(LOGS, rule_name, f"{pattern}.log")


def benchmark_file(rule_name, pattern=RUN_WILDCARDS):
    return os.path.join(BENCHMARKS, rule_name, f"{pattern}.tsv")


def work_root(wildcards):
    return WORK


#: The software every job needs (used with --software-deployment-method conda; the usual way is
#: the project's own virtualenv, where this file is ignored).
SOFTWARE = "envs/glam-bench.yaml"

#: Training, resuming from the run's checkpoint. The CLI moves aside a checkpoint written under a
#: different run config (the preset changed; params.config_sha makes Snakemake rerun the job).
TRAIN_SHELL = logged(
    "{params.launcher} train --config {input.preset:q} --experiment {wildcards.experiment:q} "
    "--agent {wildcards.agent:q} --seed {wildcards.seed} --results-dir {params.results:q} "
    "--work-dir {params.work:q} --threads {threads} --no-progress"
)


#: One report item drawn into a scratch folder, its files then moved into figures_dir (other
#: report jobs may write the shared summary CSVs at the same time; they are not this job's).
#: Shell templates take everything from params: a rule defined in a loop must not read loop
#: variables in its shell command, which Snakemake formats only when the job runs.
REPORT_ITEM_SHELL = logged(
    "python -m glam_bench.cli report --results {params.source:q} --out {params.scratch:q} "
    "--preset {params.preset:q} --only {params.item:q} --no-progress "
    "&& mv -f {params.made:q} {params.dest:q}"
)
#: Several items and the summary CSVs, straight into figures_dir.
REPORT_ALL_SHELL = logged(
    "python -m glam_bench.cli report --results {params.source:q} --out {params.dest:q} "
    "--preset {params.preset:q} {params.only} --no-progress"
)


def scratch_files(item, names):
    """Where a report into the item's scratch folder writes these file names."""
    return [os.path.join(SCRATCH, item, os.path.basename(name)) for name in names]
