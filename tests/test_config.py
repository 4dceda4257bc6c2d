"""Presets: schema validation with clear errors, run resolution, paper values (§C)."""

import copy
from pathlib import Path

import pytest
import yaml

from glam_bench.agents.families import schedule
from glam_bench.paper import study
from glam_bench.runtime.config import (ConfigError, PPOConfig, RunConfig, resolve_run, study_grid,
                                      validate_preset)
from glam_bench.pipeline.preset_checks import check_preset, load_preset

CONFIG_DIR = Path(__file__).resolve().parents[1] / "workflows" / "config"


@pytest.fixture(scope="module")
def presets():
    return {name: load_preset(CONFIG_DIR / f"{name}.yaml") for name in ("paper", "default", "ci")}


def test_paper_preset_has_the_paper_hyperparameters(presets):
    config = resolve_run(presets["paper"], "mixed", "gflan", 1)
    assert config.model == "google/flan-t5-large"
    assert (config.num_envs, config.frames_per_env, config.total_frames) == (32, 40, 1_500_000)
    assert schedule(config).num_updates == 1172
    assert config.ppo == PPOConfig(lr=1e-6, adam_betas=(0.9, 0.999), adam_eps=1e-5, epochs=4,
                                   minibatch_size=64, gamma=0.99, gae_lambda=0.99, clip_eps=0.2,
                                   entropy_coef=0.01, value_coef=0.5, max_grad_norm=0.5,
                                   micro_batch_size=32)  # memory only: the same update
    assert config.precision == "fp32"  # the authors': no mixed precision, TF32 off
    assert config.reward_scale == 20 and config.nbr_obs == 3
    assert presets["paper"]["seeds"] == [1, 2]
    assert presets["paper"]["evaluation"]["episodes"] == 1000


def test_presets_take_their_grid_from_the_study(presets):
    """default and paper run the study's default experiments; ci a subset, with fewer tests."""
    for name in ("default", "paper"):
        assert "experiments" not in presets[name]
        assert tuple(study_grid(presets[name])) == study.DEFAULT_EXPERIMENTS
    ci = study_grid(presets["ci"])
    assert tuple(ci) == ("mixed", "gotolocal", "bc")
    assert ci["mixed"].tests == ("no_change", "synonym_actions", "new_composition")
    assert ci["gotolocal"].tests == study.GOTOLOCAL_TESTS  # no subset: every test
    assert ci["mixed"].agents == study.EXPERIMENTS_BY_NAME["mixed"].agents


def test_overrides_apply_in_order(presets):
    paper = presets["paper"]
    assert resolve_run(paper, "actions-3", "gflan", 1).action_space == "restricted"
    assert resolve_run(paper, "mixed", "symbolic-ppo", 2).num_envs == 64
    assert resolve_run(paper, "size-xl", "gflan", 1).model == "google/flan-t5-xl"
    assert resolve_run(paper, "gotolocal", "gflan", 1).total_frames == 400_000
    assert resolve_run(paper, "pretraining", "npa", 1).total_frames == 500_000
    # experiment_training comes last: over the agent's and the experiment's settings
    preset = copy.deepcopy(paper)
    preset["agent_training"]["gflan"] = {"nbr_obs": 2, "total_frames": 7}
    preset["experiment_training"] = {"obs-6": {"total_frames": 9}}
    assert resolve_run(preset, "obs-1", "gflan", 1).nbr_obs == 1  # the study's over the agent's
    run = resolve_run(preset, "obs-6", "gflan", 1)
    assert (run.nbr_obs, run.total_frames) == (6, 9)
    assert resolve_run(preset, "obs-9", "gflan", 1).total_frames == 400_000  # budget over agent's


def test_a_frame_budget_the_preset_does_not_list_runs_total_frames(presets):
    preset = copy.deepcopy(presets["paper"])
    del preset["frame_budgets"]["pretraining"]
    assert resolve_run(preset, "pretraining", "aflan", 1).total_frames == 1_500_000
    assert resolve_run(preset, "gotolocal", "gflan", 1).total_frames == 400_000
    assert resolve_run(preset, "bc", "bc-bot", 1).total_frames == 1_500_000  # bc has no budget


def test_a_model_size_the_preset_does_not_map_names_the_key(presets):
    preset = copy.deepcopy(presets["default"])
    assert resolve_run(preset, "size-small", "gflan", 1).model == "tiny-t5-small"
    del preset["model_sizes"]["xl"]
    with pytest.raises(ConfigError, match=r"model_sizes.*'xl'.*model_sizes: \{xl: <model>\}"):
        resolve_run(preset, "size-xl", "gflan", 1)
    with pytest.raises(ConfigError, match="model_sizes"):
        check_preset(preset)
    preset["experiments"] = ["mixed", "size-small"]  # without size-xl the preset is fine
    check_preset(preset)


def test_experiment_and_test_subsets_are_checked_against_the_study(presets):
    preset = copy.deepcopy(presets["ci"])
    preset["experiments"] = ["gotolocal", "mixed"]  # the study's order, whatever the preset's
    assert tuple(study_grid(preset)) == ("mixed", "gotolocal")
    preset["experiments"].append("mixd")
    with pytest.raises(ConfigError, match="experiments/mixd: unknown experiment 'mixd'.*gotolocal"):
        study_grid(preset)
    preset = copy.deepcopy(presets["ci"])
    preset["tests"]["gotolocal"] = ["french", "frnch"]
    with pytest.raises(ConfigError, match="'frnch' is not a test of experiment 'gotolocal'.*english"):
        check_preset(preset)
    preset["tests"] = {"gotolocal": ["synonym_actions"]}  # a test, but of mixed
    with pytest.raises(ConfigError, match="tests/gotolocal: 'synonym_actions' is not a test"):
        study_grid(preset)
    preset["tests"] = {"gotolocl": ["no_change"]}
    with pytest.raises(ConfigError, match="tests/gotolocl: unknown experiment"):
        study_grid(preset)


@pytest.mark.parametrize("key, value, message", [
    ("agent_training", {"gflam": {}}, "agent_training/gflam: unknown agent"),
    ("experiment_training", {"obs-7": {}}, "experiment_training/obs-7: unknown experiment"),
    ("model_sizes", {"xxl": "tiny-t5"}, "model_sizes/xxl: unknown model size"),
    ("frame_budgets", {"mixed": 10}, "frame_budgets/mixed: unknown frame budget"),
])
def test_study_names_under_other_keys_are_checked(presets, key, value, message):
    preset = copy.deepcopy(presets["default"])
    preset[key] = value
    with pytest.raises(ConfigError, match=message):
        check_preset(preset)


def test_unknown_key_is_named(presets):
    bad = copy.deepcopy(presets["default"])
    bad["training"]["ppo"]["learning_rate"] = 1e-3
    with pytest.raises(ConfigError, match="training/ppo.*learning_rate"):
        validate_preset(bad)


def test_wrong_type_is_named(presets):
    bad = copy.deepcopy(presets["default"])
    bad["training"]["num_envs"] = "many"
    with pytest.raises(ConfigError, match="training/num_envs"):
        validate_preset(bad)


def test_unknown_experiment_and_agent(presets):
    with pytest.raises(ConfigError, match="unknown experiment 'nope'"):
        resolve_run(presets["default"], "nope", "gflan", 1)
    with pytest.raises(ConfigError, match="'size-xl' is not selected by this preset"):
        resolve_run(presets["ci"], "size-xl", "gflan", 1)
    with pytest.raises(ConfigError, match="not part of experiment 'gotoredball'"):
        resolve_run(presets["default"], "gotoredball", "gflan", 1)


def test_malformed_yaml_and_missing_file(tmp_path):
    (tmp_path / "bad.yaml").write_text("preset: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_preset(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_preset(tmp_path / "absent.yaml")


def test_run_config_round_trips_through_json(tmp_path, presets):
    config = resolve_run(presets["default"], "obs-6", "gflan", 2)
    config.save(tmp_path / "c.json")
    assert RunConfig.load(tmp_path / "c.json") == config


def test_schema_file_is_shared_with_the_workflow():
    assert (CONFIG_DIR / "schema.yaml").resolve() == (
        Path(__file__).resolve().parents[1] / "glam_bench" / "runtime" / "preset_schema.yaml")
    yaml.safe_load((CONFIG_DIR / "schema.yaml").read_text())


def test_an_agents_subset_narrows_every_experiment(presets):
    preset = {**presets["default"], "experiments": ["mixed", "gotoredball"],
              "agents": ["drrn", "random"]}
    grid = study_grid(preset)
    assert grid["mixed"].agents == ("drrn",) and grid["mixed"].reference_agents == ("random",)
    assert grid["gotoredball"].agents == ("drrn",) and grid["gotoredball"].reference_agents == ()
    assert study_grid(presets["default"])["mixed"].agents == ("gflan", "npae", "drrn", "symbolic-ppo")
    with pytest.raises(ConfigError, match=r"agents/gpt: unknown agent 'gpt'"):
        study_grid({**preset, "agents": ["gpt"]})
    with pytest.raises(ConfigError, match=r"'bc' has none of the agents \['drrn'\]"):
        study_grid({**preset, "agents": ["drrn"], "experiments": ["mixed", "bc"]})


def test_paper_cpu_runs_the_paper_settings_on_the_cpu_without_language_models(presets):
    cpu = load_preset(CONFIG_DIR / "paper-cpu.yaml")
    grid = study_grid(cpu)
    assert {a for spec in grid.values() for a in (*spec.agents, *spec.reference_agents)} == {
        "drrn", "symbolic-ppo", "random", "bot"}
    # The bot is opt-in (AgentSpec.in_default): paper-cpu names it, so Mixed and GoToLocal test it;
    # a preset that names no agents (default, paper) never runs it.
    assert [name for name, spec in grid.items() if "bot" in spec.reference_agents] == [
        "mixed", "gotolocal"]
    for preset in ("default", "paper"):
        assert not any("bot" in spec.reference_agents
                       for spec in study_grid(presets[preset]).values()), preset
    assert cpu["evaluation"] == presets["paper"]["evaluation"] and cpu["seeds"] == [1, 2]
    for experiment, agent in (("mixed", "drrn"), ("mixed", "symbolic-ppo"), ("gotolocal", "drrn"),
                              ("gotoredball", "symbolic-ppo")):
        ours = resolve_run(cpu, experiment, agent, 1).to_dict()
        theirs = resolve_run(presets["paper"], experiment, agent, 1).to_dict()
        differing = {k for k in ours if ours[k] != theirs[k]}
        assert differing == {"preset", "device", "results_dir"}, differing
        assert ours["device"] == "cpu"
