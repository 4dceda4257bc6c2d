"""Agents: one module per family. Reference agents (bot, random) are built here by name."""

from __future__ import annotations

from gymnasium.vector import VectorEnv

from glam_bench.agents.base import Agent, to_env_actions
from glam_bench.agents.bot import BotAgent
from glam_bench.agents.random import RandomAgent
from glam_bench.errors import GlamBenchError

#: Agents that need no training run, by name.
REFERENCE_AGENTS = ("bot", "random")


class UnknownAgentError(GlamBenchError, ValueError):
    """An agent name that is not one of the suite's agents."""


def make_reference_agent(name: str, vector_env: VectorEnv, seed: int = 0,
                         num_actions: int = 6) -> Agent:
    """Build a reference agent by name, or fail listing the valid names."""
    if name == "bot":
        return BotAgent(vector_env)
    if name == "random":
        return RandomAgent(vector_env.num_envs, num_actions=num_actions, seed=seed)
    raise UnknownAgentError(
        f"unknown agent {name!r}; reference agents are: {', '.join(REFERENCE_AGENTS)}"
    )


__all__ = ["Agent", "BotAgent", "RandomAgent", "REFERENCE_AGENTS", "UnknownAgentError",
           "make_reference_agent", "to_env_actions"]
