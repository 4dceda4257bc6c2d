"""The one episode runner: per-episode statistics for training logs and test sets.

:class:`EpisodeTracker` turns the stream of vector-env steps into finished
episodes (return, success, length, task kind); the PPO rollout collectors and
:func:`run_episodes` both use it, so training statistics and test results are
counted the same way. Success means a positive return (§A.4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from gymnasium.vector import VectorEnv
from tqdm.auto import tqdm

if TYPE_CHECKING:  # agents use this module: it must not import them
    from glam_bench.agents.base import Agent


@dataclass(frozen=True)
class Episode:
    """One finished episode of env ``env_index``."""

    env_index: int
    episode_return: float
    length: int
    task_kind: str

    @property
    def success(self) -> bool:
        return self.episode_return > 0


class EpisodeTracker:
    """Accumulates per-env returns and lengths; emits an :class:`Episode` at each end."""

    def __init__(self, num_envs: int, task_kinds: Any = None):
        self.returns = np.zeros(num_envs)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.task_kinds = _as_list(task_kinds, num_envs)

    def step(
        self,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        infos: Mapping[str, Any],
    ) -> list[Episode]:
        """Record one vector step; with same-step autoreset ``infos`` describe the next episode."""
        self.returns += rewards
        self.lengths += 1
        finished = []
        for i in np.flatnonzero(np.logical_or(terminated, truncated)):
            finished.append(Episode(int(i), float(self.returns[i]), int(self.lengths[i]),
                                    str(self.task_kinds[i])))
            self.returns[i] = 0.0
            self.lengths[i] = 0
        self.task_kinds = _as_list(infos.get("task_kind"), len(self.returns), self.task_kinds)
        return finished


def _as_list(values: Any, n: int, default: list | None = None) -> list:
    if values is None:
        return list(default) if default is not None else ["unknown"] * n
    return list(values)


#: How test episodes are counted (the preset's ``evaluation.counting``).
COUNTING_MODES: tuple[str, ...] = ("per_env", "first_finished")


def run_episodes(
    vector_env: VectorEnv,
    agent: Agent,
    num_episodes: int,
    seeds: list[int],
    on_step: Callable[[Mapping[str, Any], np.ndarray], None] | None = None,
    on_episode: Callable[[Episode], None] | None = None,
    progress: bool = True,
    counting: str = "per_env",
) -> list[Episode]:
    """Run ``num_episodes`` episodes and return them; ``counting`` says which ones count.

    ``"per_env"`` (default): env i runs a fixed quota of episodes (its first
    ``num_episodes // n``, plus one for the first ``num_episodes % n`` envs);
    episodes beyond an env's quota are discarded. This keeps the result
    independent of timing and free of the bias towards short episodes.
    Returned episodes are ordered by env, then by episode within the env.

    ``"first_finished"``: the first ``num_episodes`` episodes to end, across
    all envs, as the authors' tests counted them (§D.1). Envs that draw short
    (often successful, often easy-kind) episodes contribute more of them.
    Episodes ending on the same step are taken in env order; the returned
    list is in the order they ended.

    Envs that no longer count keep stepping with the others;
    ``agent.counted_envs`` tells the agent which envs still count, so it may
    skip the work for the rest. ``on_step(observations, actions)`` sees every
    step and ``on_episode(episode)`` every counted episode as it ends
    (``glam-bench play`` narrates with them).
    """
    if counting not in COUNTING_MODES:
        raise ValueError(f"unknown counting {counting!r}; choose one of {COUNTING_MODES}")
    n = vector_env.num_envs
    if counting == "per_env":
        quota = [num_episodes // n + (1 if i < num_episodes % n else 0) for i in range(n)]
    else:
        quota = [num_episodes] * n
    done_per_env: list[list[Episode]] = [[] for _ in range(n)]
    in_order: list[Episode] = []
    observations, infos = vector_env.reset(seed=seeds)
    tracker = EpisodeTracker(n, infos.get("task_kind"))
    for i in range(n):
        agent.reset(i)
    bar = tqdm(total=num_episodes, desc=f"{agent.name} episodes", disable=not progress,
               leave=False)
    counted = np.array([len(done) < q for done, q in zip(done_per_env, quota)])
    while counted.any():
        agent.counted_envs = counted
        actions = agent.act(observations)
        if on_step is not None:
            on_step(observations, actions)
        observations, rewards, terminated, truncated, infos = vector_env.step(actions)
        for episode in tracker.step(rewards, terminated, truncated, infos):
            agent.reset(episode.env_index)
            done = done_per_env[episode.env_index]
            if len(done) < quota[episode.env_index] and len(in_order) < num_episodes:
                done.append(episode)
                in_order.append(episode)
                bar.update(1)
                if on_episode is not None:
                    on_episode(episode)
            counted[episode.env_index] = len(done) < quota[episode.env_index]
        if len(in_order) >= num_episodes:
            counted[:] = False
    agent.counted_envs = None
    bar.close()
    if counting == "first_finished":
        return in_order
    return [episode for done in done_per_env for episode in done]
