"""One name per quantity: the families' configs speak the run config's vocabulary (issue 14).

``RunConfig`` and ``PPOConfig`` (``glam_bench.runtime.config``) name the quantities the
families share; DRRN, Symbolic-PPO and BC use those names, and a loop-level
field holds the run's value of the field of the same name.
"""

from __future__ import annotations

import dataclasses

import pytest

from glam_bench.agents.bc.settings import BCSettings
from glam_bench.agents.drrn import config as drrn
from glam_bench.agents.symbolic_ppo import config as symbolic_ppo
from glam_bench.runtime.config import PPOConfig, RunConfig

#: Names the families used before issue 14, and the shared name that replaced each.
RETIRED_NAMES = {
    "number_envs": "num_envs",
    "procs": "num_envs",
    "steps_per_update": "frames_per_env (env steps) or gradient_steps_per_update (optimizer steps)",
    "frames_per_proc": "frames_per_env",
    "num_frames": "total_frames",
    "frames": "total_frames",
    "discount": "gamma",
    "value_loss_coef": "value_coef",
}
#: PPOConfig fields about the LLM's memory, not about the PPO update.
LLM_ONLY_PPO_FIELDS = {"micro_batch_size", "gradient_checkpointing"}


def field_names(record) -> set[str]:
    return {f.name for f in dataclasses.fields(record)}


@pytest.mark.parametrize("record", [drrn.DRRNConfig, symbolic_ppo.SymbolicPPOConfig, BCSettings])
def test_no_family_config_uses_a_retired_name(record):
    retired = {name: RETIRED_NAMES[name] for name in field_names(record) & set(RETIRED_NAMES)}
    assert not retired, f"{record.__name__} uses retired names; rename them {retired}"


def test_symbolic_ppo_names_its_ppo_hyperparameters_as_ppo_config():
    shared = field_names(PPOConfig) - LLM_ONLY_PPO_FIELDS
    assert shared <= field_names(symbolic_ppo.SymbolicPPOConfig)


@pytest.mark.parametrize("family, agent, frames_per_env", [
    (drrn, "drrn", 4), (symbolic_ppo, "symbolic-ppo", 40),  # symbolic-ppo: a multiple of recurrence
])
def test_loop_fields_hold_the_run_value_of_the_same_name(family, agent, frames_per_env):
    run = RunConfig(experiment="e", agent=agent, seed=1, env="BabyAI-Text-GoToLocal-v0", num_envs=3,
                    frames_per_env=frames_per_env, total_frames=999, reward_scale=7.0, nbr_obs=2)
    config = family.from_run_config(run)
    shared = [name for name in family.LOOP_FIELDS if name in field_names(RunConfig)]
    assert {"num_envs", "frames_per_env", "total_frames", "reward_scale"} <= set(shared)
    assert {name: getattr(config, name) for name in shared} == {name: getattr(run, name) for name in shared}
