"""Agent names -> the module that trains and builds them, read from :mod:`glam_bench.paper.study`.

Each agent's :class:`~glam_bench.paper.study.AgentSpec` names its family module, which
offers ``build_agent(config, learner_state, vector_env, test_set, seed) -> Agent``
and, for trained agents, ``build_learner(config) -> Learner``. A family module
may also declare:

* ``schedule(config) -> Schedule``: the run's updates, when they are not env
  frames (behavioural cloning counts optimizer steps);
* ``FLUSH_DENORMAL = True``: its training process flushes denormal floats to
  zero (:func:`glam_bench.runtime.process.configure_process`).
* ``READS_TEXT = False``: its agent never reads the text descriptions, so its
  envs skip rendering them (``make_vector_env(..., render_text=False)``).

Reference agents (zero-shot, random, bot) have no training run.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from glam_bench.errors import GlamBenchError
from glam_bench.paper.study import AGENT_NAMES, AGENTS_BY_NAME, AgentSpec

if TYPE_CHECKING:
    from gymnasium.vector import VectorEnv

    from glam_bench.agents.base import Agent
    from glam_bench.runtime.config import RunConfig
    from glam_bench.paper.test_sets import TestSet
    from glam_bench.runtime.training import Learner, Schedule

#: Every agent of the study, in its order.
ALL_AGENTS: tuple[str, ...] = AGENT_NAMES


class UnknownAgentError(GlamBenchError, ValueError):
    """An agent name the suite does not know, or one asked for what it cannot do."""


def agent_spec(name: str) -> AgentSpec:
    """The study's declaration of agent ``name``, or a one-line error listing the agents."""
    if name not in AGENTS_BY_NAME:
        raise UnknownAgentError(f"unknown agent {name!r}; choose one of: {', '.join(ALL_AGENTS)}")
    return AGENTS_BY_NAME[name]


def check_agent(name: str) -> str:
    """``name``, checked to be one of the study's agents."""
    return agent_spec(name).name


def is_trained(name: str) -> bool:
    """Whether ``name`` has a training run (zero-shot, random and bot do not)."""
    return agent_spec(name).trained


def family(name: str) -> ModuleType:
    """The module serving agent ``name``."""
    return importlib.import_module(agent_spec(name).family)


def build_learner(config: RunConfig) -> Learner:
    if not is_trained(config.agent):
        raise UnknownAgentError(f"agent {config.agent!r} is not trained; evaluate it directly")
    return family(config.agent).build_learner(config)


def build_agent(config: RunConfig, learner_state: dict | None, vector_env: VectorEnv,
                test_set: TestSet, seed: int) -> Agent:
    """The acting agent of a run (``learner_state`` None for reference agents)."""
    return family(config.agent).build_agent(config, learner_state, vector_env, test_set, seed)


def schedule(config: RunConfig) -> Schedule:
    """How many updates a run of ``config`` trains, and the frames each counts.

    What the learner of the run says (:meth:`glam_bench.runtime.training.Learner.schedule`),
    found without building it: ``glam-bench status`` reads it from ``run.json``.
    """
    from glam_bench.runtime.training import frame_schedule

    return getattr(family(config.agent), "schedule", frame_schedule)(config)


def flushes_denormals(name: str) -> bool:
    """Whether the training process of agent ``name`` flushes denormal floats (DRRN's GRU)."""
    return bool(getattr(family(name), "FLUSH_DENORMAL", False))


def reads_text(name: str) -> bool:
    """Whether agent ``name`` reads the text descriptions (a family's ``READS_TEXT``, default True)."""
    return bool(getattr(family(name), "READS_TEXT", True))
