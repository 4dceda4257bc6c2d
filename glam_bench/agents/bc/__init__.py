"""Behavioural cloning, ``bc-bot`` and ``bc-gflan`` (Q4, §C "Behavioural cloning", §E.6).

* :mod:`~glam_bench.agents.bc.settings`: the ``bc`` block and its schedule;
* :mod:`~glam_bench.agents.bc.dataset`: compact episode storage, prompts rebuilt on the fly;
* :mod:`~glam_bench.agents.bc.collect`: demonstrations from the bot or a trained GFlan-T5;
* :mod:`~glam_bench.agents.bc.learner`: cross-entropy fine-tuning as a suite learner;
* :mod:`~glam_bench.agents.bc.agent`: the fine-tuned model acting through the candidate scorer.

Heavy modules are imported on use, so the schedule (:func:`schedule`) is read
cheaply from ``settings``: ``glam-bench status`` asks it without building a learner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gymnasium.vector import VectorEnv

    from glam_bench.agents.llm_ppo import LLMAgent
    from glam_bench.agents.bc.learner import BCLearner
    from glam_bench.runtime.config import RunConfig
    from glam_bench.paper.test_sets import TestSet
    from glam_bench.runtime.training import Schedule


def schedule(config: RunConfig) -> Schedule:
    """A BC run's updates: its optimizer steps in chunks of ``bc.gradient_steps_per_update``, each
    counting the training transitions it consumes (§C; ``settings``)."""
    from glam_bench.agents.bc.settings import from_run_config
    from glam_bench.runtime.training import Schedule

    settings = from_run_config(config)
    return Schedule(settings.num_updates, settings.transitions_per_update)


def build_learner(config: RunConfig) -> BCLearner:
    """The learner of a ``bc-bot`` or ``bc-gflan`` run."""
    from glam_bench.agents.bc.learner import BCLearner

    return BCLearner(config)


def build_agent(config: RunConfig, learner_state: dict | None, vector_env: VectorEnv,
                test_set: TestSet, seed: int) -> LLMAgent:
    """The acting agent of a finished BC run (see :mod:`glam_bench.agents.bc.agent`)."""
    from glam_bench.agents.bc.agent import build_agent as build

    return build(config, learner_state, vector_env, test_set, seed)


__all__ = ["build_agent", "build_learner", "schedule"]
