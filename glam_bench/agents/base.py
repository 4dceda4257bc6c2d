"""The one agent interface every agent implements: act on a batch, reset per env.

Observations arrive batched as a vector env returns them: a dict with
``mission`` (n strings), ``descriptions`` (n tuples of sentences), ``image``
(n, 7, 7, 3) and ``direction`` (n,). ``act`` returns one env action index per
env. When env i finishes an episode the runner calls ``reset(i)`` before the
next ``act``, so agents with memory (prompts, recurrent state) start afresh.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

#: minigrid's "done" action: a no-op that extra candidate actions map to (§A.1).
NOOP_ACTION = 6


def to_env_actions(indices: np.ndarray) -> np.ndarray:
    """Map candidate indices to env actions: index > 6 becomes the no-op 6 (§A.1)."""
    return np.minimum(np.asarray(indices, dtype=np.int64), NOOP_ACTION)


class Agent(ABC):
    """An agent acting in ``num_envs`` environments at once."""

    #: Name shown in logs and result files.
    name: str = "agent"
    #: Model the agent's decisions come from (result files say which).
    model: str = "none"
    #: Which envs' coming steps still count (bool per env), set by the episode runner before
    #: each ``act``; None means all. An agent whose per-env work is costly (an LLM scoring a
    #: prompt) may skip the others and return any valid action there: the runner discards
    #: what those envs do once their episode quota is filled.
    counted_envs: np.ndarray | None = None

    def __init__(self, num_envs: int):
        self.num_envs = num_envs

    @abstractmethod
    def act(self, observations: Mapping[str, Any]) -> np.ndarray:
        """Return an int array of env actions, one per env."""

    def reset(self, env_index: int) -> None:
        """Forget everything about env ``env_index``'s finished episode."""
