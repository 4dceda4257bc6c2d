"""The pipeline's plan (glam_bench.pipeline.plan), checked without running Snakemake."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from glam_bench.paper import study
from glam_bench.pipeline.plan import (
    EVALUATE_RULES,
    TRAIN_RULES,
    Plan,
    agents_of_rule,
    run_config_sha,
)
from glam_bench.pipeline.preset_checks import load_yaml_strict
from glam_bench.runtime.config import ConfigError, resolve_run, validate_preset

PRESETS = Path(__file__).resolve().parents[1] / "workflows" / "config"
PRESET_NAMES = ("ci", "default", "smollm2", "paper")


def preset(name: str) -> dict:
    return validate_preset(load_yaml_strict(PRESETS / f"{name}.yaml"), name)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_grid_expands_every_experiment_agent_seed_and_test(name):
    data = preset(name)
    plan = Plan(data)
    expected_runs = sum(len(plan.agents(e)) for e in plan.experiments) * len(data["seeds"])
    assert len(plan.runs) == len(set(plan.runs)) == expected_runs
    assert len(plan.evaluations) == sum(
        len(plan.agents(e)) * len(spec.tests) for e, spec in plan.experiments.items()
    ) * len(data["seeds"])
    jobs = plan.jobs()
    outputs = [o for job in jobs for o in job.outputs]
    assert len(outputs) == len(set(outputs)), "two jobs write the same file"
    produced = set(outputs) | {plan.preset_file}
    for job in jobs:
        assert set(job.inputs) <= produced, f"{job.rule} reads a file no job writes"


def test_each_agent_has_one_train_rule_and_one_evaluate_rule():
    for rules in (TRAIN_RULES.values(), EVALUATE_RULES):
        owners = [a for rule in rules for a in agents_of_rule(rule)]
        assert sorted(owners) == sorted(study.AGENT_NAMES)
    assert "drrn" in agents_of_rule("evaluate_baseline")
    assert "zero-shot" in agents_of_rule("evaluate_llm")
    assert "bc-gflan" in agents_of_rule("train_bc")


def test_paths_follow_the_preset_folders():
    data = preset("ci")
    data["results_dir"], data["work_dir"] = "R", "W"
    plan = Plan(data)
    job = plan.evaluate_job("mixed", "gflan", 1, "no_change")
    assert job.inputs == ("R/runs/mixed/gflan/seed-1/done.json",)
    assert job.outputs == ("R/runs/mixed/gflan/seed-1/tests/no_change.csv",)
    assert plan.train_job("mixed", "gflan", 1).inputs == (f"W/presets/{data['preset']}.yaml",)


def test_bc_gflan_waits_for_the_gflan_run_of_its_source_experiment():
    plan = Plan(preset("paper"))
    job = plan.train_job("bc", "bc-gflan", 2)
    assert job.inputs[1:] == ("work/results-paper/runs/gotolocal/gflan/seed-2/done.json",)
    assert plan.train_job("bc", "bc-bot", 2).inputs[1:] == ()


def test_bc_source_outside_the_grid_is_refused():
    data = preset("paper")
    data["training"]["bc"]["source_experiment"] = "mixed-lora"  # not selected by the preset
    with pytest.raises(ConfigError, match="bc.source_experiment"):
        Plan(data).check_grid()


def test_run_hash_covers_the_run_config_but_not_its_folders():
    data = preset("ci")
    plan = Plan(data)
    sha = plan.run_sha("mixed", "gflan", 1)
    assert sha == run_config_sha(resolve_run(data, "mixed", "gflan", 1))
    assert sha != plan.run_sha("mixed", "gflan", 2)
    moved = copy.deepcopy(data)
    moved["results_dir"], moved["work_dir"] = "elsewhere/results", "elsewhere"
    assert Plan(moved).run_sha("mixed", "gflan", 1) == sha
    changed = copy.deepcopy(data)
    changed["training"]["ppo"]["lr"] = 0.5
    assert Plan(changed).run_sha("mixed", "gflan", 1) != sha


@pytest.mark.parametrize("name", ("ci", "default"))
def test_cpu_presets_ask_for_no_gpu(name):
    assert all(job.resources["gpu"] == 0 for job in Plan(preset(name)).jobs())


def test_gpu_preset_asks_gpus_only_for_networks():
    plan = Plan(preset("paper"))
    by_rule = {}
    for job in plan.jobs():
        by_rule.setdefault(job.rule, set()).add(job.resources["gpu"])
    assert by_rule["register_reference"] == {0}
    assert min(by_rule["train_llm"]) >= 1 and min(by_rule["evaluate_llm"]) >= 1
    random_eval = plan.evaluate_job("mixed", "random", 1, "no_change")
    assert random_eval.resources["gpu"] == 0


def test_torchrun_only_for_data_parallel_training_on_several_gpus():
    plan = Plan(preset("paper"))
    assert "torch.distributed.run" in plan.launcher("mixed", "gflan", 1, 4)
    assert "--nproc_per_node=4" in plan.launcher("mixed", "gflan", 1, 4)
    assert "torch.distributed" not in plan.launcher("mixed", "gflan", 1, 1)
    assert "torch.distributed" not in plan.launcher("mixed", "drrn", 1, 4)


def test_jobs_that_run_one_process_ask_at_most_one_gpu():
    """Behavioural cloning has no process group: a train_bc job asked 4 GPUs (the default)
    and torchrun ran 4 identical copies of the run, one per GPU (seen in the rehearsal,
    tests/test_rehearsal.py: both ranks collected the demonstrations and trained)."""
    data = preset("paper")
    data["resources"] = {rule: {"gpus": 3} for rule in (*TRAIN_RULES.values(), *EVALUATE_RULES)}
    plan = Plan(data)
    for agent in ("bc-bot", "bc-gflan"):
        assert plan.train_job("bc", agent, 1).resources["gpu"] == 1
        assert "torch.distributed" not in plan.launcher("bc", agent, 1, 3)
        assert plan.evaluate_job("bc", agent, 1, "no_change").resources["gpu"] == 1
    assert plan.evaluate_job("mixed", "gflan", 1, "no_change").resources["gpu"] == 1
    assert plan.train_job("mixed", "gflan", 1).resources["gpu"] == 3
    assert "--nproc_per_node=3" in plan.launcher("mixed", "gflan", 1, 3)
    assert Plan(preset("paper")).train_job("bc", "bc-bot", 1).resources["gpu"] == 1


def test_available_results_name_what_the_grid_trains_and_tests():
    plan = Plan(preset("ci"))
    available = plan.available()
    spec = next(iter(plan.experiments.values()))
    agent = spec.agents[0]
    assert ("train_log", spec.name, agent, "") in available
    assert all(("episodes", spec.name, a, t) in available
               for a in plan.agents(spec.name) for t in spec.tests)
    reference = spec.reference_agents[0]
    assert ("train_log", spec.name, reference, "") not in available


# --- one resolution path for pipeline and hand runs (issue 22 item 1) -----------------------


def hand_configs(name: str) -> dict:
    """Every planned run's config as the preset file says it: the file, schema-checked with
    nothing filled in, resolved by resolve_run (as `glam-bench train --config <preset>`)."""
    data = preset(name)
    return {run: resolve_run(data, *run).to_dict() for run in Plan(data).runs}


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_pipeline_and_hand_runs_resolve_the_same_config(name, tmp_path):
    """The Snakefile prepares the preset (complete_preset), plans from it and writes it for
    the jobs, whose `glam-bench train --config <written file>` resolves each run again: both
    must be the config a hand run of the preset file gets, key for key."""
    import yaml

    from glam_bench.pipeline.preset_checks import complete_preset, load_preset

    pipeline = complete_preset(load_yaml_strict(PRESETS / f"{name}.yaml"), name)
    plan = Plan(pipeline)
    written = tmp_path / f"{name}.yaml"
    written.write_text(yaml.safe_dump(pipeline, sort_keys=False), encoding="utf-8")
    job_preset = load_preset(written)
    hand_preset = load_preset(PRESETS / f"{name}.yaml")
    hand = hand_configs(name)
    assert sorted(hand) == sorted(plan.runs)
    for run, config in hand.items():
        assert plan.run_config(*run).to_dict() == config, run
        assert resolve_run(job_preset, *run).to_dict() == config, run
        assert resolve_run(hand_preset, *run).to_dict() == config, run


def test_the_merged_preset_keeps_per_experiment_blocks_as_written():
    """Schema defaults of the training block are not copied into agent_training or
    experiment_training, where they would override the preset's `training` (size-xl got
    pad_group_size: null and monitoring_prompts: suite under paper.yaml)."""
    from glam_bench.pipeline.preset_checks import complete_preset

    raw = load_yaml_strict(PRESETS / "paper.yaml")
    pipeline = complete_preset(copy.deepcopy(raw), "paper")
    assert pipeline["experiment_training"] == raw["experiment_training"]
    assert pipeline["agent_training"] == raw["agent_training"]
    xl = Plan(pipeline).run_config("size-xl", "gflan", 1)
    assert (xl.pad_group_size, xl.monitoring_prompts, xl.non_pretrained_dropout) == (3, "authors", True)
    assert pipeline["figures_dir"] == raw["figures_dir"] and "tensorboard" in pipeline


# --- resources per rule and per experiment (issue 22 items 2 and 8) --------------------------


def test_baseline_evaluations_ask_for_no_gpu_and_the_cpu_partition():
    """DRRN and Symbolic-PPO evaluations asked `--gpus=1` on the CPU partition."""
    plan = Plan(preset("paper"))
    for agent in ("drrn", "symbolic-ppo"):
        job = plan.evaluate_job("mixed", agent, 1, "no_change")
        assert job.rule == "evaluate_baseline"
        assert job.resources["gpu"] == 0
        assert job.resources["slurm_partition"] == "cpu"


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_job_asks_the_partition_that_matches_its_gpus(name):
    data = preset(name)
    for job in Plan(data).jobs():
        wanted = "gpu" if job.resources["gpu"] else "cpu"
        assert job.resources["slurm_partition"] == wanted, job
        assert job.resources["mem_mb"] > 0 and job.resources["runtime"] > 0


def test_flan_t5_small_asks_less_than_large_and_xl_more_time():
    """One GPU request for every LLM run gave Flan-T5-small 4 GPUs, 128 GB and 20 h."""
    plan = Plan(preset("paper"))
    large = plan.train_job("mixed", "gflan", 1).resources
    small = plan.train_job("size-small", "gflan", 1).resources
    xl = plan.train_job("size-xl", "gflan", 1).resources
    assert large["gpu"] == 4 and small["gpu"] < large["gpu"]
    assert small["mem_mb"] < large["mem_mb"] and small["runtime"] < large["runtime"]
    assert xl["gpu"] >= large["gpu"] and xl["runtime"] >= large["runtime"]


def test_training_time_limit_covers_the_measured_projection():
    """The H200 bench projects ~37.5 h for one Mixed run of Flan-T5-large in fp32 (one
    process); a 20 h limit killed every such run (each resubmission resumes, but costs a
    queue wait): the default limit covers the projection."""
    import json

    records = json.loads((PRESETS.parents[1] / "results" / "benchmarks" / "NVIDIA-H200.json")
                         .read_text(encoding="utf-8"))
    rate = next(r["cycle_frames_per_s"] for r in records
                if (r["model"], r["precision"]) == ("flan-t5-large", "fp32"))
    plan = Plan(preset("paper"))
    config = plan.run_config("mixed", "gflan", 1)
    hours = config.total_frames / rate / 3600
    assert hours > 30
    assert plan.train_job("mixed", "gflan", 1).resources["runtime"] >= hours * 60


def test_a_preset_sets_resources_per_rule_and_per_experiment():
    data = preset("paper")
    data["resources"] = {"evaluate_llm": {"mem_mb": 1234},
                         "experiments": {"mixed": {"train_llm": {"gpus": 2, "runtime": 99}}}}
    plan = Plan(data)
    mixed = plan.train_job("mixed", "gflan", 1).resources
    assert (mixed["gpu"], mixed["runtime"]) == (2, 99)
    assert plan.train_job("gotolocal", "gflan", 1).resources["gpu"] == 4  # default kept
    assert plan.evaluate_job("mixed", "gflan", 1, "no_change").resources["mem_mb"] == 1234


def test_cpu_runs_ask_for_no_gpu_whatever_the_preset_says():
    data = preset("ci")
    data["resources"] = {"train_llm": {"gpus": 4}}
    assert all(job.resources["gpu"] == 0 for job in Plan(data).jobs())


def test_an_unknown_experiment_under_resources_is_refused():
    from glam_bench.pipeline.preset_checks import check_preset

    data = preset("ci")
    data["resources"] = {"experiments": {"no-such": {"train_llm": {"gpus": 1}}}}
    with pytest.raises(ConfigError, match="resources/experiments/no-such"):
        check_preset(data, "ci")


def test_the_slurm_profile_leaves_the_plans_resources_alone():
    """--set-resources replaces a rule's resources for every job: a GPU count, memory, time
    limit or partition set there would undo the preset's per-experiment values."""
    import yaml

    profile = yaml.safe_load((PRESETS.parents[0] / "profiles" / "slurm" / "config.yaml")
                             .read_text(encoding="utf-8"))
    planned = {"gpu", "mem_mb", "runtime", "slurm_partition"}
    for rule in (*TRAIN_RULES.values(), *EVALUATE_RULES):
        assert not planned & set(profile.get("set-resources", {}).get(rule, {})), rule


@pytest.mark.parametrize("profile_path", ["profiles/slurm/config.yaml", "slurm/profile/config.yaml"])
def test_each_slurm_job_asks_at_least_the_cpus_of_its_threads(profile_path):
    """evaluate_baseline ran 2 threads (set-threads) in a 1-CPU allocation (default-resources'
    cpus_per_task), seen in the issue-22 rehearsal's sbatch lines."""
    import yaml

    workflows = PRESETS.parents[0]
    profile = yaml.safe_load((workflows / profile_path).read_text(encoding="utf-8"))
    if profile_path.startswith("slurm/"):  # a workflow profile on top of the slurm profile
        base = yaml.safe_load((workflows / "profiles/slurm/config.yaml").read_text())
        profile = {**base, **profile}
    default = profile["default-resources"].get("cpus_per_task", 1)
    for rule in (*TRAIN_RULES.values(), *EVALUATE_RULES):
        threads = profile.get("set-threads", {}).get(rule, 1)  # the rules say `threads: 1`
        cpus = profile.get("set-resources", {}).get(rule, {}).get("cpus_per_task", default)
        assert cpus >= threads, (rule, cpus, threads)


# --- models present before any job (issue 22 item 7) -----------------------------------------


def make_model(root: Path, name: str, weights: bool = True) -> None:
    folder = root / name.split("/")[-1]
    folder.mkdir(parents=True)
    for file in ("config.json", "spiece.model", *(("model.safetensors",) if weights else ())):
        (folder / file).write_text("{}", encoding="utf-8")


def test_missing_models_are_named_with_their_fetch_command(tmp_path):
    data = preset("paper")
    data["models_dir"] = str(tmp_path)
    make_model(tmp_path, "google/flan-t5-large")
    with pytest.raises(ConfigError) as refused:
        Plan(data).check_models()
    message = str(refused.value)
    assert "\n" not in message
    assert ("hf download google/flan-t5-small --revision 0fc9ddf78a1e988dac52e2dac162b0ede4fd74ab "
            f"--include '*.safetensors' --include '*.json' --include 'spiece.model' "
            f"--local-dir {tmp_path}/flan-t5-small") in message
    assert f"--local-dir {tmp_path}/flan-t5-xl" in message and "--revision 7d6315df" in message
    assert "flan-t5-large (" not in message  # present
    make_model(tmp_path, "google/flan-t5-small")
    make_model(tmp_path, "google/flan-t5-xl")
    Plan(data).check_models()


def test_weights_are_needed_except_by_randomly_initialised_agents(tmp_path):
    data = preset("paper")
    data.update(models_dir=str(tmp_path), experiments=["pretraining"])
    make_model(tmp_path, "google/flan-t5-large", weights=False)
    plan = Plan(data)
    [(model, _, weights)] = plan.missing_models
    assert (model, weights) == ("google/flan-t5-large", True)
    loaders = [j for j in plan.jobs() if study.AGENTS_BY_NAME[j.agent].llm is not None]
    assert {j.agent for j in plan.missing_models[model, str(tmp_path), True]} == \
        {j.agent for j in loaders} - {"npa"}
    plan.check_models(("pretraining", "npa", 1))  # its model folder is enough
    with pytest.raises(ConfigError, match="flan-t5-large"):
        plan.check_models(("pretraining", "npae", 1))


@pytest.mark.parametrize("name", ("ci", "default"))
def test_built_in_models_need_no_files(name, tmp_path):
    """ci and default use tiny models that the first job builds."""
    data = preset(name)
    data["models_dir"] = str(tmp_path / "empty")
    assert Plan(data).missing_models == {}


def test_a_fetched_model_names_the_glam_bench_fetch_command(tmp_path):
    data = preset("smollm2")
    data["models_dir"] = str(tmp_path)
    with pytest.raises(ConfigError) as refused:
        Plan(data).check_models()
    assert f"`glam-bench models fetch smollm2-135m --models-dir {tmp_path}`" in str(refused.value)


def test_finished_jobs_need_no_model(tmp_path):
    data = preset("paper")
    data.update(models_dir=str(tmp_path / "models"), results_dir=str(tmp_path / "results"),
                experiments=["size-small"])
    plan = Plan(data)
    for job in plan.jobs():
        for output in job.outputs:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            Path(output).write_text("{}", encoding="utf-8")
    Plan(data).check_models()


# --- --config overrides (issue 22 item 5) ------------------------------------------------------


def test_overrides_merge_into_nested_blocks_and_replace_lists():
    from glam_bench.pipeline.preset_checks import merge_overrides

    data = preset("paper")
    merged = merge_overrides(data, {"training": {"model": "x", "ppo": {"lr": 0.5}}, "seeds": [7]})
    assert merged["training"]["model"] == "x" and merged["training"]["ppo"]["lr"] == 0.5
    assert merged["training"]["pad_group_size"] == data["training"]["pad_group_size"] == 3
    assert merged["training"]["ppo"]["micro_batch_size"] == 32
    assert merged["seeds"] == [7]
    assert data["training"]["model"] == "google/flan-t5-large"  # the preset is not changed


def test_training_jobs_ask_slurm_for_sigterm_before_their_time_limit():
    """At the time limit SLURM gives a job KillWait (30 s) between SIGTERM and SIGKILL: too
    short for Flan-T5-xl to finish its update and write 34 GB. Training jobs ask for SIGTERM
    earlier (sbatch --signal), and torchrun waits as long for its ranks; evaluations, which
    keep no checkpoint, ask for nothing."""
    plan = Plan(preset("paper"))
    assert plan.train_job("size-xl", "gflan", 1).resources["slurm_extra"] == "--signal=TERM@900"
    assert plan.train_job("mixed", "drrn", 1).resources["slurm_extra"] == "--signal=TERM@120"
    assert plan.evaluate_job("mixed", "gflan", 1, "no_change").resources["slurm_extra"] == ""
    assert "--shutdown_timeout=900 " in plan.launcher("size-xl", "gflan", 1, 4)


def test_a_grace_longer_than_the_time_limit_is_refused_naming_the_rule():
    config = preset("paper")
    config["resources"]["experiments"]["size-small"]["train_llm"]["stop_grace_s"] = 480 * 60
    with pytest.raises(ConfigError, match="train_llm in size-small.*stop_grace_s below runtime"):
        Plan(config).train_job("size-small", "gflan", 1)
