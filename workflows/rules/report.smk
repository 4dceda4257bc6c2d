# The report: every figure and table of the paper, from one of two results sources.
#
# fresh   this preset's own runs under results_dir. One draw_<item> job per figure (drawn as
#         soon as the runs it needs are finished) and draw_tables (generalisation table and
#         the summary CSVs, from every result).
# cached  the committed results/ (cached_results_dir), which no rule produces and whose files
#         are inputs through ancient(): a clone's arbitrary timestamps, or edited code, never
#         pull a training job in. verify_cache checks every file against MANIFEST.json first,
#         so a damaged file stops the run before any figure is deleted or drawn. `figures`
#         (everything, one job) and fig_<item> (one item) always read the cache; `all` reads it
#         when use_cached_results is true.
#
# Each figure and table is one item of glam_bench.paper.study.REPORT_ITEMS, its caption written from
# there (caption_file, common.smk). Both sources write the same files into figures_dir;
# ruleorder picks the producer for a file that is asked for by name (the fresh one, or the
# cached one with use_cached_results), and a rule asked for by name (figures, fig_<item>) is
# used as such. Every report job runs on the machine that runs Snakemake (localrule), never on
# a cluster node.


for _item in FRESH_FIGURES:

    rule:
        name:
            f"draw_{_item}"
        input:
            fresh_item_inputs(_item),
        output:
            png=report(
                figure_files(_item)[0],
                caption=caption_file(_item),
                category="Figures",
                subcategory=PRESET,
                labels={"figure": _item, "results": "fresh"},
            ),
            pdf=figure_files(_item)[1],
        params:
            source=results_root,
            scratch=os.path.join(SCRATCH, _item),
            preset=PRESET,
            item=_item,
            made=scratch_files(_item, figure_files(_item)),
            dest=figures_root,
        log:
            os.path.join(LOGS, "report", f"draw_{_item}.log"),
        benchmark:
            os.path.join(BENCHMARKS, "report", f"draw_{_item}.tsv")
        localrule: True
        threads: 1
        conda:
            SOFTWARE
        shell:
            REPORT_ITEM_SHELL


rule draw_tables:
    """The generalisation table (when the preset has its tests) and the summary CSVs, from
    every result of the preset."""
    input:
        ALL_DONE + ALL_TESTS,
    output:
        [report(f, caption=caption_file(item), category="Tables", subcategory=PRESET)
         for item in FRESH_TABLES for f in table_files(item) if f.endswith(".md")]
        + [f for item in FRESH_TABLES for f in table_files(item) if not f.endswith(".md")]
        + [report(f, caption=caption_file("summaries"), category="Summaries",
                  subcategory=PRESET) for f in SUMMARY_PATHS],
    params:
        source=results_root,
        dest=figures_root,
        preset=PRESET,
        only=f"--only {','.join(TABLE_ITEMS)}",
    log:
        os.path.join(LOGS, "report", "draw_tables.log"),
    benchmark:
        os.path.join(BENCHMARKS, "report", "draw_tables.tsv")
    localrule: True
    threads: 1
    conda:
        SOFTWARE
    shell:
        REPORT_ALL_SHELL


if CACHE_MANIFEST is not None:

    rule verify_cache:
        """Every cached result file against MANIFEST.json (sha256), before any figure job."""
        input:
            manifest=ancient(MANIFEST),
            files=[ancient(f) for f in CACHE_FILES],
        output:
            temp(CACHE_VERIFIED),
        params:
            cache=cache_root,
        log:
            os.path.join(LOGS, "report", "verify_cache.log"),
        localrule: True
        threads: 1
        conda:
            SOFTWARE
        shell:
            logged("python -m glam_bench.cli cache verify --results {params.cache:q} "
                   "&& cp {input.manifest:q} {output:q}")

    rule figures:
        """Every figure and table the committed cache can draw, in one job, no training."""
        input:
            verified=CACHE_VERIFIED,
            files=[ancient(f) for f in CACHE_FILES],
        output:
            [report(f, caption=caption_file(item), category="Figures",
                    subcategory=f"cached {CACHE_PRESET}")
             for item in CACHED_FIGURES for f in figure_files(item) if f.endswith(".png")]
            + [f for item in CACHED_FIGURES for f in figure_files(item) if f.endswith(".pdf")]
            + [report(f, caption=caption_file(item), category="Tables",
                      subcategory=f"cached {CACHE_PRESET}") if f.endswith(".md") else f
               for item in CACHED_TABLES for f in table_files(item)]
            + [report(f, caption=caption_file("summaries"), category="Summaries",
                      subcategory=f"cached {CACHE_PRESET}") for f in SUMMARY_PATHS],
        params:
            source=cache_root,
            dest=figures_root,
            preset=CACHE_PRESET,
            only="",
            digest=CACHE_DIGEST,
        log:
            os.path.join(LOGS, "report", "figures.log"),
        benchmark:
            os.path.join(BENCHMARKS, "report", "figures.tsv")
        localrule: True
        threads: 1
        conda:
            SOFTWARE
        shell:
            REPORT_ALL_SHELL

    for _item, _target in [(i, n) for i in CACHED_FIGURES + CACHED_TABLES
                           for n in figure_targets(i)]:

        rule:
            name:
                _target
            input:
                verified=CACHE_VERIFIED,
                files=[ancient(f) for f in cached_item_inputs(_item)],
            output:
                figure_files(_item) if _item in FIGURE_ITEMS else table_files(_item),
            params:
                source=cache_root,
                scratch=os.path.join(SCRATCH, f"cached-{_item}"),
                preset=CACHE_PRESET,
                item=_item,
                made=[os.path.join(SCRATCH, f"cached-{_item}", os.path.basename(f))
                      for f in (figure_files(_item) if _item in FIGURE_ITEMS
                                else table_files(_item))],
                dest=figures_root,
                digest=CACHE_DIGEST,
            log:
                os.path.join(LOGS, "report", f"{_target}.log"),
            benchmark:
                os.path.join(BENCHMARKS, "report", f"{_target}.tsv")
            localrule: True
            threads: 1
            conda:
                SOFTWARE
            shell:
                REPORT_ITEM_SHELL

else:

    rule figures:
        """No usable cache: say why and how to build one."""
        log:
            os.path.join(LOGS, "report", "figures.log"),
        localrule: True
        params:
            problem=CACHE_PROBLEM,
        run:
            raise WorkflowError(f"figures: no usable cached results. {params.problem}")


# Which producer builds a figure asked for by file (e.g. through `all`).
for _item in FIGURE_ITEMS + TABLE_ITEMS:
    _fresh = [f"draw_{_item}"] if _item in FRESH_FIGURES else []
    _fresh += ["draw_tables"] if _item in FRESH_TABLES else []
    _cached = figure_targets(_item) if _item in CACHED_FIGURES + CACHED_TABLES else []
    _cached_all = ["figures"] + _cached
    _order = (_cached_all + _fresh) if USE_CACHE else (_fresh + _cached + ["figures"])
    if CACHE_MANIFEST is not None and len(_order) > 1:
        workflow.ruleorder(*_order)
if CACHE_MANIFEST is not None:
    workflow.ruleorder(*(["figures", "draw_tables"] if USE_CACHE else ["draw_tables", "figures"]))


rule refresh_cache:
    """Copy this preset's finished results (small files, never checkpoints) into the committed
    cache and rewrite its MANIFEST.json. Writes the cache as a side effect on purpose: no rule
    may produce the cache, or a fresh clone would want to re-train to rebuild it."""
    input:
        ALL_DONE + ALL_TESTS,
    output:
        touch(os.path.join(WORK, "cache", f"refreshed-{PRESET}.stamp")),
    params:
        source=results_root,
        cache=cache_root,
        preset=PRESET,
    log:
        os.path.join(LOGS, "report", "refresh_cache.log"),
    localrule: True
    threads: 1
    conda:
        SOFTWARE
    shell:
        logged("python -m glam_bench.cli cache refresh --from {params.source:q} "
               "--to {params.cache:q} --preset {params.preset:q}")


rule benchmark_summary:
    """Per-rule wall-clock totals and means of every job that ran (from the benchmark files)."""
    log:
        os.path.join(LOGS, "benchmark_summary.log"),
    params:
        benchmarks=BENCHMARKS,
    localrule: True
    conda:
        SOFTWARE
    shell:
        "python workflows/rules/scripts/summarise_benchmarks.py {params.benchmarks:q} 2>&1 "
        "| tee {log:q}"
