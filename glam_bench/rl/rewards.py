"""The learners' reward (§A.4): ``scale`` times the env reward when positive, else 0.

BabyAI pays ``1 - 0.9 * steps / max_steps`` on success and 0 otherwise; every
learner (LLM PPO, DRRN, Symbolic-PPO) trains on the scaled value, ×20 in the paper.
"""

from __future__ import annotations

import numpy as np


def scale_rewards(rewards, scale: float) -> np.ndarray:
    """float32 ``scale * reward`` where the env reward is positive, 0 elsewhere."""
    rewards = np.asarray(rewards, dtype=np.float32)
    return np.where(rewards > 0, np.float32(scale) * rewards, np.float32(0.0)).astype(np.float32)
