"""What the DRRN's prompt memory holds at the start of a new episode (§B.1).

Every agent keeps, per env, the last ``nbr_obs`` observations and the last
``nbr_obs - 1`` actions, and builds its prompt from them
(``glam_bench.prompts.PromptMemory``). When an episode ends both are cleared
and the new episode's first observation is added. The authors' DRRN loop
skips that last step, so its first prompt of every episode shows the goal but
no observation (§B.1). The option ``faithful_missing_first_obs`` reproduces
that bug; by default we fix it.

The training loop calls :func:`start_new_episode` when an env reports ``done``.
"""

from __future__ import annotations

from typing import Protocol, Sequence


class EpisodeMemory(Protocol):
    """What we need of a prompt memory (``glam_bench.prompts.PromptMemory`` fits)."""

    def reset(self) -> None: ...

    def add_observation(self, sentences: Sequence[str]) -> None: ...


def observations_after_episode_end(
    first_observation: Sequence[str], faithful_missing_first_obs: bool = False
) -> list[list[str]]:
    """Observations (lists of sentences) that start the cleared memory of a new episode.

    ``first_observation`` is the new episode's first list of description
    sentences (from the auto-reset). Fixed behaviour: ``[first_observation]``.
    Faithful behaviour (the authors' bug, §B.1): ``[]``, so the first prompt of
    the episode has no "Observation 0" line at all.
    """
    return [] if faithful_missing_first_obs else [list(first_observation)]


def start_new_episode(
    memory: EpisodeMemory, first_observation: Sequence[str], faithful_missing_first_obs: bool = False
) -> None:
    """Clear ``memory`` and add what the new episode's first prompt should show."""
    memory.reset()
    for observation in observations_after_episode_end(first_observation, faithful_missing_first_obs):
        memory.add_observation(observation)
