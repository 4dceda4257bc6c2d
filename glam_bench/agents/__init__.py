"""Agents: one family module per kind of agent, found through :mod:`glam_bench.paper.study`.

The agent classes are imported on first use (:mod:`glam_bench.lazy`): the settings
modules of the families (``glam_bench.agents.drrn.config``, ...) must import without
the envs and torch, and importing them runs this package first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from glam_bench.agents.families import UnknownAgentError, build_agent
from glam_bench.runtime.config import RunConfig
from glam_bench.paper.test_sets import get_test_set
from glam_bench.lazy import lazy_exports

#: Agents that act with neither a training run nor a model (random, bot): ``glam-bench play``
#: and the protocol measurements build them by name alone.
from glam_bench.paper.study import MODEL_FREE_AGENTS

if TYPE_CHECKING:
    from gymnasium.vector import VectorEnv

    from glam_bench.agents.base import Agent

#: Public name -> the submodule defining it.
_SOURCES = {"Agent": "base", "to_env_actions": "base", "BotAgent": "bot", "RandomAgent": "random"}

__getattr__ = lazy_exports(__name__, _SOURCES)


def make_reference_agent(name: str, vector_env: VectorEnv, seed: int = 0) -> Agent:
    """A model-free agent built by its family module, acting on the six canonical actions."""
    if name not in MODEL_FREE_AGENTS:
        raise UnknownAgentError(f"unknown agent {name!r}; agents that need no model are: "
                                f"{', '.join(MODEL_FREE_AGENTS)}")
    config = RunConfig(experiment="play", agent=name, seed=seed, env="", action_space="canonical")
    return build_agent(config, None, vector_env, get_test_set("no_change"), seed)


__all__ = [*sorted(_SOURCES), "MODEL_FREE_AGENTS", "make_reference_agent"]
