"""Uniform random agent over the candidate actions (§B.7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from glam_bench.agents.base import Agent, to_env_actions
from glam_bench.paper.study import AGENTS_BY_NAME
from glam_bench.paper.vocabulary import ACTION_SPACES

if TYPE_CHECKING:
    from gymnasium.vector import VectorEnv

    from glam_bench.runtime.config import RunConfig
    from glam_bench.paper.test_sets import TestSet


class RandomAgent(Agent):
    """Draws each action uniformly from ``num_actions`` candidates with its own seeded RNG."""

    name = "random"
    model = AGENTS_BY_NAME["random"].model

    def __init__(self, num_envs: int, num_actions: int = 6, seed: int = 0):
        super().__init__(num_envs)
        self.num_actions = num_actions
        self.rng = np.random.default_rng(seed)

    def act(self, observations: Mapping[str, Any]) -> np.ndarray:
        return to_env_actions(self.rng.integers(0, self.num_actions, size=self.num_envs))


def build_agent(config: RunConfig, learner_state: dict | None, vector_env: VectorEnv,
                test_set: TestSet, seed: int) -> RandomAgent:
    """Uniform over the test's candidates (its own action names, else the run's action space)."""
    actions = test_set.action_names or ACTION_SPACES[config.action_space]
    return RandomAgent(vector_env.num_envs, num_actions=len(actions), seed=seed)
