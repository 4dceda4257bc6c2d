"""Presets: schema validation with clear errors, run resolution, paper values (§C)."""

import copy
from pathlib import Path

import pytest
import yaml

from glam_bench.agents.families import schedule
from glam_bench.config import ConfigError, PPOConfig, RunConfig, load_preset, resolve_run, validate_preset

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


def test_default_and_paper_share_one_experiment_grid(presets):
    grid = lambda p: {k: (v["env"], v["agents"], v.get("reference_agents"), v.get("tests"))
                      for k, v in p["experiments"].items()}
    assert grid(presets["default"]) == grid(presets["paper"])
    for name, spec in presets["ci"]["experiments"].items():
        assert spec["agents"] == presets["paper"]["experiments"][name]["agents"]


def test_overrides_apply_in_order(presets):
    paper = presets["paper"]
    assert resolve_run(paper, "actions-3", "gflan", 1).action_space == "restricted"
    assert resolve_run(paper, "mixed", "symbolic-ppo", 2).num_envs == 64
    assert resolve_run(paper, "size-xl", "gflan", 1).model == "google/flan-t5-xl"
    assert resolve_run(paper, "gotolocal", "gflan", 1).total_frames == 400_000


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
        Path(__file__).resolve().parents[1] / "glam_bench" / "preset_schema.yaml")
    yaml.safe_load((CONFIG_DIR / "schema.yaml").read_text())
