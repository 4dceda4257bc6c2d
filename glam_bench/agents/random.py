"""Uniform random agent over the candidate actions (§B.7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from glam_bench.agents.base import Agent, to_env_actions


class RandomAgent(Agent):
    """Draws each action uniformly from ``num_actions`` candidates with its own seeded RNG."""

    name = "random"
    model = "none"

    def __init__(self, num_envs: int, num_actions: int = 6, seed: int = 0):
        super().__init__(num_envs)
        self.num_actions = num_actions
        self.rng = np.random.default_rng(seed)

    def act(self, observations: Mapping[str, Any]) -> np.ndarray:
        return to_env_actions(self.rng.integers(0, self.num_actions, size=self.num_envs))
