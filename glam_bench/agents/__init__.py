"""Agents: one family module per kind of agent, found through :mod:`glam_bench.study`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from glam_bench.agents.base import Agent, to_env_actions
from glam_bench.agents.bot import BotAgent
from glam_bench.agents.families import UnknownAgentError, build_agent
from glam_bench.agents.random import RandomAgent
from glam_bench.config import RunConfig
from glam_bench.evaluation.test_sets import get_test_set
#: Agents that act with neither a training run nor a model (random, bot): ``glam-bench play``
#: and the protocol measurements build them by name alone.
from glam_bench.study import MODEL_FREE_AGENTS

if TYPE_CHECKING:
    from gymnasium.vector import VectorEnv


def make_reference_agent(name: str, vector_env: VectorEnv, seed: int = 0) -> Agent:
    """A model-free agent built by its family module, acting on the six canonical actions."""
    if name not in MODEL_FREE_AGENTS:
        raise UnknownAgentError(f"unknown agent {name!r}; agents that need no model are: "
                                f"{', '.join(MODEL_FREE_AGENTS)}")
    config = RunConfig(experiment="play", agent=name, seed=seed, env="", action_space="canonical")
    return build_agent(config, None, vector_env, get_test_set("no_change"), seed)


__all__ = ["Agent", "BotAgent", "MODEL_FREE_AGENTS", "RandomAgent", "make_reference_agent", "to_env_actions"]
