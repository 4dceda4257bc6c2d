# Evaluation: every agent of an experiment (trained and reference) on each of the experiment's
# test sets, `evaluation.episodes` episodes each, one tidy CSV per (run, test set). The CSV is
# written atomically by `glam-bench evaluate`, so it is declared as the output.
#
# Two rules, the same job, so the cluster profile can give each its own resources:
#   evaluate_llm       agents acting through an LLM (GPU on clusters): the PPO-trained ones,
#                      zero-shot Flan-T5 and the behavioural-cloning agents
#   evaluate_baseline  the others: DRRN, Symbolic-PPO, the random agent and the BabyAI bot

for evaluate_rule in EVALUATE_RULES:

    rule:
        name:
            evaluate_rule
        input:
            done=os.path.join(RUN, "done.json"),
            models=models_on_disk,
        output:
            csv=os.path.join(RUN, "tests", "{test}.csv"),
        params:
            run=run_directory,
            episodes=EPISODES,
            num_envs=EVAL_ENVS,
            protocol=EVAL_PROTOCOL,
        log:
            log_file(evaluate_rule, TEST_WILDCARDS),
        benchmark:
            benchmark_file(evaluate_rule, TEST_WILDCARDS)
        wildcard_constraints:
            agent=agent_pattern(evaluate_rule),
        threads: 1
        resources:
            gpu=evaluation_resource("gpu"),
            mem_mb=evaluation_resource("mem_mb"),
            runtime=evaluation_resource("runtime"),
            slurm_partition=evaluation_resource("slurm_partition"),
        conda:
            SOFTWARE
        shell:
            logged(
                "python -m glam_bench.cli evaluate --run {params.run:q} --test {wildcards.test:q} "
                "--episodes {params.episodes} --num-envs {params.num_envs} {params.protocol} "
                "--out {output.csv:q} "
                "--threads {threads} --no-progress"
            )
