"""Agent names -> the module that trains and evaluates them.

Each family module offers ``build_learner(config) -> Learner`` and
``build_agent(config, learner_state, vector_env, test_set, seed) -> Agent``;
this table is the only place that knows which module serves which name.
Reference agents (zero-shot, random, bot) have no training run.
"""

from __future__ import annotations

import importlib

from gymnasium.vector import VectorEnv

from glam_bench.agents.base import Agent
from glam_bench.config import LLM_AGENTS, REFERENCE_AGENTS, TRAINED_AGENTS, RunConfig
from glam_bench.errors import GlamBenchError
from glam_bench.evaluation.test_sets import TestSet

_FAMILY_MODULES = {
    **{name: "glam_bench.agents.llm_ppo" for name in (*LLM_AGENTS, "zero-shot")},
    "drrn": "glam_bench.agents.drrn.learner",
    "symbolic-ppo": "glam_bench.agents.symbolic_ppo.learner",
    "bc-bot": "glam_bench.agents.bc",
    "bc-gflan": "glam_bench.agents.bc",
}
ALL_AGENTS = (*TRAINED_AGENTS, *REFERENCE_AGENTS)


class UnknownAgentNameError(GlamBenchError, ValueError):
    """An agent name the suite does not know."""


def check_agent(name: str) -> str:
    if name not in ALL_AGENTS:
        raise UnknownAgentNameError(
            f"unknown agent {name!r}; choose one of: {', '.join(ALL_AGENTS)}"
        )
    return name


def is_trained(name: str) -> bool:
    """Whether ``name`` has a training run (zero-shot, random and bot do not)."""
    return check_agent(name) in TRAINED_AGENTS


def family(name: str):
    """The module serving agent ``name``."""
    check_agent(name)
    return importlib.import_module(_FAMILY_MODULES[name])


def build_learner(config: RunConfig):
    if not is_trained(config.agent):
        raise UnknownAgentNameError(f"agent {config.agent!r} is not trained; evaluate it directly")
    return family(config.agent).build_learner(config)


def build_agent(config: RunConfig, learner_state: dict | None, vector_env: VectorEnv,
                test_set: TestSet, seed: int) -> Agent:
    """The acting agent of a run (``learner_state`` None for reference agents)."""
    if config.agent in ("random", "bot"):
        from glam_bench.agents import make_reference_agent
        from glam_bench.vocabulary import ACTION_SPACES

        actions = test_set.action_names or ACTION_SPACES[config.action_space]
        return make_reference_agent(config.agent, vector_env, seed=seed, num_actions=len(actions))
    return family(config.agent).build_agent(config, learner_state, vector_env, test_set, seed)
