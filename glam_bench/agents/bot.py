"""The BabyAI planner bot from minigrid, as an agent (§B.7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from gymnasium.vector import VectorEnv

from glam_bench.agents.base import Agent
from glam_bench.paper.study import AGENTS_BY_NAME

if TYPE_CHECKING:
    from glam_bench.runtime.config import RunConfig
    from glam_bench.paper.test_sets import TestSet


class BotAgent(Agent):
    """Asks each env's own planner bot (``TextLevel.bot_action``) for its action.

    The bot reads the full simulator state, not the text: it is the expert
    that behavioural cloning imitates and an upper reference in figures.
    """

    name = "bot"
    model = AGENTS_BY_NAME["bot"].model

    def __init__(self, vector_env: VectorEnv):
        super().__init__(vector_env.num_envs)
        self.vector_env = vector_env

    def act(self, observations: Mapping[str, Any]) -> np.ndarray:
        return np.asarray(self.vector_env.call("bot_action"), dtype=np.int64)


def build_agent(config: RunConfig, learner_state: dict | None, vector_env: VectorEnv,
                test_set: TestSet, seed: int) -> BotAgent:
    """The bot of each env of ``vector_env``; it reads the simulator, so the test's text is moot."""
    return BotAgent(vector_env)
