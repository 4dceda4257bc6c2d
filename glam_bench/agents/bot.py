"""The BabyAI planner bot from minigrid, as an agent (§B.7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium.vector import VectorEnv

from glam_bench.agents.base import Agent


class BotAgent(Agent):
    """Asks each env's own planner bot (``TextLevel.bot_action``) for its action.

    The bot reads the full simulator state, not the text: it is the expert
    that behavioural cloning imitates and an upper reference in figures.
    """

    name = "bot"
    model = "babyai-bot"

    def __init__(self, vector_env: VectorEnv):
        super().__init__(vector_env.num_envs)
        self.vector_env = vector_env

    def act(self, observations: Mapping[str, Any]) -> np.ndarray:
        return np.asarray(self.vector_env.call("bot_action"), dtype=np.int64)
