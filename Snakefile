# glam-bench: GLAM (Carta et al., ICML 2023) reproduced end to end.
#
#   snakemake --cores all                       every run of the default preset (tiny, offline,
#                                               CPU), every test set, every figure and table
#   snakemake --profile workflows/profiles/slurm --configfile workflows/config/paper.yaml
#                                               the paper's runs on a SLURM GPU cluster
#                                               (workflows/slurm/README.md)
#   snakemake --cores 1 figures                 every figure and table from the committed
#                                               results/ (verified against results/MANIFEST.json),
#                                               no training
#
# Targets: all (default), train, evaluate, figures, fig_<item> (one per report item, from the
# cache; also fig_<item without its q1_/q2q3_/q4_/appendix_/extra_ prefix>, e.g.
# fig_generalisation), draw_<item> (one per item, from this preset's fresh results),
# draw_tables, refresh_cache, benchmark_summary. Rules: workflows/rules/*.smk; presets:
# workflows/config/.

from snakemake.utils import min_version

from glam_bench.pipeline.preset_checks import complete_preset
from glam_bench.runtime.config import ConfigError

min_version("9.0")


include: "workflows/rules/config.smk"


# The preset files read strictly first: a duplicate key (YAML keeps the last silently) or a
# syntax error stops here with its line and column. (Snakemake parses a --configfile itself
# before this file runs, and reports a syntax error there without a line.)
try:
    check_config_files(workflow)
except ConfigError as error:
    raise WorkflowError(f"invalid preset: {error}") from None


# A preset given with --configfile replaces the embedded default instead of being merged into
# it (Snakemake merges configfiles key by key, so default.yaml's extra experiments would leak
# into ci.yaml). --config key=value still overrides single keys of whichever preset is used.
if not workflow.overwrite_configfiles:

    configfile: "workflows/config/default.yaml"


# --config key=value gives strings; read them as the schema's types (use_cached_results=true)
# and merge them into the preset key by key at every depth (`training={model: X}` keeps the
# other training keys). Only those: a preset file's values keep their YAML types, so
# `seeds: ['1']` is refused here exactly as `glam-bench train` refuses it.
_preset = preset_with_overrides(workflow, load_schema("workflows/config/schema.yaml"))
config.clear()
config.update(_preset)

# Unknown keys and wrong types stop here, before any job, naming the key. The defaults of the
# optional top-level keys (folders, use_cached_results) are filled in, and nothing below them:
# the jobs read this preset and `glam-bench train --config` prepares a preset file the same way
# (glam_bench.pipeline.preset_checks.complete_preset), so pipeline and hand runs get the same
# run configs.
try:
    config.update(complete_preset(plain(config), "config"))
except ConfigError as error:
    raise WorkflowError(f"invalid preset: {error}") from None


include: "workflows/rules/common.smk"


try:
    check_before_jobs(plain(config), local=workflow.local_exec)
except ConfigError as error:
    raise WorkflowError(f"invalid preset: {error}") from None

write_if_changed(PRESET_FILE, yaml.safe_dump(plain(config), sort_keys=False))
write_captions()


report: "workflows/report/workflow.rst"


wildcard_constraints:
    experiment=r"[^/]+",
    seed=r"\d+",
    test=r"[^/]+",


include: "workflows/rules/train.smk"
include: "workflows/rules/evaluate.smk"
include: "workflows/rules/report.smk"


rule all:
    """Every run, every test set, every figure and table of the preset (from the cache when
    use_cached_results is true)."""
    default_target: True
    localrule: True
    input:
        report_outputs(CACHED_FIGURES, CACHED_TABLES) if USE_CACHE
        else ALL_DONE + ALL_TESTS + report_outputs(FRESH_FIGURES, FRESH_TABLES),


rule train:
    """Every training run of the preset (reference agents only registered)."""
    localrule: True
    input:
        ALL_DONE,


rule evaluate:
    """Every test set of every run."""
    localrule: True
    input:
        ALL_TESTS,
