# Training: one job per (experiment, agent, seed), each calling `glam-bench train`.
#
# Only done.json is declared: the CLI writes it last, so only a finished run has it. The
# files a run grows while training (train_log.csv, policy_log.csv, run.json, beside done.json)
# and its checkpoint (under the work folder) are deliberately not outputs: Snakemake deletes
# the outputs of a job before rerunning it and after it fails, and a run resumed from its
# checkpoint (killed, SLURM time limit, --retries) must keep the log rows it already wrote.


rule train_llm:
    """PPO fine-tuning of an LLM agent: GFlan-T5, AFlan-T5, NPAE, NPA, NPE (GPU on clusters;
    data-parallel over the job's GPUs with torchrun when it has more than one)."""
    input:
        preset=ancient(PRESET_FILE),
    output:
        done=os.path.join(RUN, "done.json"),
    params:
        config_sha=run_config_sha,
        results=results_root,
        work=work_root,
        launcher=launcher,
    log:
        log_file("train_llm"),
    benchmark:
        benchmark_file("train_llm")
    wildcard_constraints:
        agent=agent_pattern(LLM_AGENTS),
    threads: 1
    resources:
        gpu=uses_gpu,
    conda:
        SOFTWARE
    shell:
        TRAIN_SHELL


rule train_baseline:
    """DRRN and Symbolic-PPO, the paper's non-LLM baselines."""
    input:
        preset=ancient(PRESET_FILE),
    output:
        done=os.path.join(RUN, "done.json"),
    params:
        config_sha=run_config_sha,
        results=results_root,
        work=work_root,
        launcher="python -m glam_bench.cli",
    log:
        log_file("train_baseline"),
    benchmark:
        benchmark_file("train_baseline")
    wildcard_constraints:
        agent=agent_pattern(BASELINE_AGENTS),
    threads: 1
    resources:
        gpu=uses_gpu,
    conda:
        SOFTWARE
    shell:
        TRAIN_SHELL


rule train_bc:
    """Behavioural cloning (Q4): bc-bot from BabyAI-bot trajectories, bc-gflan from those of
    the finished GFlan-T5 run of training.bc.source_experiment, same seed."""
    input:
        preset=ancient(PRESET_FILE),
        source=bc_source,
    output:
        done=os.path.join(RUN, "done.json"),
    params:
        config_sha=run_config_sha,
        results=results_root,
        work=work_root,
        launcher=launcher,
    log:
        log_file("train_bc"),
    benchmark:
        benchmark_file("train_bc")
    wildcard_constraints:
        agent=agent_pattern(BC_AGENTS),
    threads: 1
    resources:
        gpu=uses_gpu,
    conda:
        SOFTWARE
    shell:
        TRAIN_SHELL


rule register_reference:
    """Reference agents evaluated without training (zero-shot LLM, random, bot): run.json and
    done.json only."""
    input:
        preset=ancient(PRESET_FILE),
    output:
        done=os.path.join(RUN, "done.json"),
    params:
        config_sha=run_config_sha,
        results=results_root,
        work=work_root,
    log:
        log_file("register_reference"),
    benchmark:
        benchmark_file("register_reference")
    wildcard_constraints:
        agent=agent_pattern(REFERENCE_AGENTS),
    threads: 1
    conda:
        SOFTWARE
    shell:
        logged(
            "python -m glam_bench.cli train --config {input.preset:q} "
            "--experiment {wildcards.experiment:q} --agent {wildcards.agent:q} "
            "--seed {wildcards.seed} --results-dir {params.results:q} --work-dir {params.work:q} "
            "--threads {threads} --no-progress"
        )
