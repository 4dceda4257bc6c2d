# Evaluation: every agent of an experiment (trained and reference) on each of the experiment's
# test sets, `evaluation.episodes` episodes each, one tidy CSV per (run, test set). The CSV is
# written atomically by `glam-bench evaluate`, so it is declared as the output.


rule evaluate_llm:
    """Test episodes of an LLM-based agent (GPU on clusters): the PPO-trained ones, zero-shot
    Flan-T5 and the behavioural-cloning agents."""
    input:
        done=os.path.join(RUN, "done.json"),
    output:
        csv=os.path.join(RUN, "tests", "{test}.csv"),
    params:
        run=run_directory,
        episodes=EPISODES,
        num_envs=EVAL_ENVS,
        protocol=EVAL_PROTOCOL,
    log:
        log_file("evaluate_llm", TEST_WILDCARDS),
    benchmark:
        benchmark_file("evaluate_llm", TEST_WILDCARDS)
    wildcard_constraints:
        agent=agent_pattern(LLM_EVAL_AGENTS),
    threads: 1
    resources:
        gpu=uses_gpu,
    conda:
        SOFTWARE
    shell:
        logged(
            "python -m glam_bench.cli evaluate --run {params.run:q} --test {wildcards.test:q} "
            "--episodes {params.episodes} --num-envs {params.num_envs} {params.protocol} "
            "--out {output.csv:q} "
            "--threads {threads} --no-progress"
        )


rule evaluate_baseline:
    """Test episodes of DRRN, Symbolic-PPO, the random agent and the BabyAI bot."""
    input:
        done=os.path.join(RUN, "done.json"),
    output:
        csv=os.path.join(RUN, "tests", "{test}.csv"),
    params:
        run=run_directory,
        episodes=EPISODES,
        num_envs=EVAL_ENVS,
        protocol=EVAL_PROTOCOL,
    log:
        log_file("evaluate_baseline", TEST_WILDCARDS),
    benchmark:
        benchmark_file("evaluate_baseline", TEST_WILDCARDS)
    wildcard_constraints:
        agent=agent_pattern(OTHER_EVAL_AGENTS),
    threads: 1
    resources:
        gpu=uses_gpu,
    conda:
        SOFTWARE
    shell:
        logged(
            "python -m glam_bench.cli evaluate --run {params.run:q} --test {wildcards.test:q} "
            "--episodes {params.episodes} --num-envs {params.num_envs} {params.protocol} "
            "--out {output.csv:q} "
            "--threads {threads} --no-progress"
        )
