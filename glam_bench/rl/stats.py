"""The per-update row of ``train_log.csv`` (§G), the same for every learner.

Episode statistics cover the episodes that finished during the update; when
fewer than ``num_envs`` finished, the last ``num_envs`` finished episodes are
used, older ones included, exactly as the authors' logger did (§G).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

import numpy as np

from glam_bench.rl.episodes import Episode


class EpisodeWindow:
    """Finished episodes of the current update, topped up with recent older ones."""

    def __init__(self, num_envs: int):
        self.num_envs = num_envs
        self.recent: deque[Episode] = deque(maxlen=num_envs)
        self.current: list[Episode] = []
        self.total_episodes = 0

    def add(self, episodes: Iterable[Episode]) -> None:
        for episode in episodes:
            self.current.append(episode)
            self.recent.append(episode)
            self.total_episodes += 1

    def take(self) -> list[Episode]:
        """Episodes to summarise for this update; starts the next update afresh."""
        chosen = self.current if len(self.current) >= self.num_envs else list(self.recent)
        self.current = []
        return chosen

    def state_dict(self) -> dict:
        return {"recent": list(self.recent), "current": list(self.current),
                "total_episodes": self.total_episodes}

    def load_state_dict(self, state: Mapping) -> None:
        self.recent = deque(state["recent"], maxlen=self.num_envs)
        self.current = list(state["current"])
        self.total_episodes = int(state["total_episodes"])


def _stats(name: str, values: list[float]) -> dict[str, float]:
    if not values:
        return {f"{name}_{s}": float("nan") for s in ("mean", "std", "min", "max")}
    array = np.asarray(values, dtype=float)
    return {f"{name}_mean": float(array.mean()), f"{name}_std": float(array.std()),
            f"{name}_min": float(array.min()), f"{name}_max": float(array.max())}


def update_row(
    identity: Mapping[str, object],
    update: int,
    frames: int,
    total_episodes: int,
    episodes: list[Episode],
    reward_scale: float,
    update_frames: int,
    seconds: float,
    duration: float,
    losses: Mapping[str, float],
) -> dict[str, object]:
    """One ``train_log.csv`` row. ``update_frames`` frames took ``seconds``; ``duration`` is
    the run's wall time so far. ``losses`` supplies entropy, policy/value loss, loss, grad_norm
    and any learner-specific columns."""
    returns = [e.episode_return for e in episodes]
    return {
        **identity,
        "update": update,
        "episodes": total_episodes,
        "frames": frames,
        "fps": update_frames / seconds if seconds > 0 else float("nan"),
        "duration": duration,
        **_stats("return", returns),
        "success_rate": float(np.mean([e.success for e in episodes])) if episodes else float("nan"),
        **_stats("reshaped_return", [r * reward_scale for r in returns]),
        **_stats("num_frames", [float(e.length) for e in episodes]),
        **{k: float(v) for k, v in losses.items()},
    }
