# Training: one job per (experiment, agent, seed), each calling `glam-bench train`.
#
# Only done.json is declared: the CLI writes it last, so only a finished run has it. The
# files a run grows while training (train_log.csv, policy_log.csv, run.json, beside done.json)
# and its checkpoint (under the work folder) are deliberately not outputs: Snakemake deletes
# the outputs of a job before rerunning it and after it fails, and a run resumed from its
# checkpoint (killed, SLURM time limit, --retries) must keep the log rows it already wrote.
#
# One rule per agent kind of glam_bench.paper.study (glam_bench.pipeline.plan.TRAIN_RULES; the same job, so the cluster profile can give
# each kind its own resources: workflows/profiles/slurm/config.yaml):
#   train_llm           PPO fine-tuning of an LLM agent (GFlan-T5, AFlan, NPAE, NPA, NPE); GPU
#                       on clusters, data-parallel over the job's GPUs with torchrun when it
#                       has more than one
#   train_baseline      the non-LLM baselines (DRRN, Symbolic-PPO)
#   train_bc            behavioural cloning (Q4): bc-bot from BabyAI-bot trajectories, bc-gflan
#                       from those of the finished GFlan-T5 run of training.bc.source_experiment
#                       (same seed)
#   register_reference  agents evaluated without training (zero-shot LLM, random, bot):
#                       run.json and done.json only

for train_rule in TRAIN_RULES.values():

    rule:
        name:
            train_rule
        input:
            preset=ancient(PRESET_FILE),
            source=bc_source,
            models=models_on_disk,
        output:
            done=os.path.join(RUN, "done.json"),
        params:
            config_sha=run_config_sha,
            results=results_root,
            work=work_root,
            launcher=launcher,
        log:
            log_file(train_rule),
        benchmark:
            benchmark_file(train_rule)
        wildcard_constraints:
            agent=agent_pattern(train_rule),
        threads: 1
        resources:
            gpu=training_resource("gpu"),
            mem_mb=training_resource("mem_mb"),
            runtime=training_resource("runtime"),
            slurm_partition=training_resource("slurm_partition"),
            slurm_extra=training_resource("slurm_extra"),
        conda:
            SOFTWARE
        shell:
            TRAIN_SHELL
