"""What the DRRN's prompt memory holds at the start of a new episode (§B.1).

Every agent keeps, per env, the last ``nbr_obs`` observations and the last
``nbr_obs - 1`` actions, and builds its prompt from them
(``glam_bench.paper.prompts.PromptMemory``). When an episode ends both are cleared
and the new episode's first observation is added. The authors' DRRN loop
skips that last step, so its first prompt of every episode shows the goal but
no observation (§B.1). The option ``faithful_missing_first_obs`` reproduces
that bug; by default we fix it.

:class:`EnvPrompts` keeps one memory per env of a vector env and turns them
into the prompts the DRRN reads. The learner and the evaluation agent both
use it, so training and test prompts are made the same way; at test time it
also applies a test set's action names, language and substitutions (§D.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, Sequence

from glam_bench.paper.prompts import PromptMemory, apply_substitutions


class EpisodeMemory(Protocol):
    """What we need of a prompt memory (``glam_bench.paper.prompts.PromptMemory`` fits)."""

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


class EnvPrompts:
    """Per-env prompt memories of a vector env and the prompts built from them (§B.1).

    Per step: :meth:`observe` the (auto-reset) observations, read
    :meth:`prompts`, then :meth:`record_actions`. When an env's episode ends,
    call :meth:`episode_ended` before the next :meth:`observe`; that
    observation then starts the new episode's memory through
    :func:`start_new_episode` (and is dropped under ``faithful_missing_first_obs``).
    """

    def __init__(
        self,
        num_envs: int,
        nbr_obs: int,
        action_names: Sequence[str],
        *,
        faithful_missing_first_obs: bool = False,
        language: str = "en",
        substitutions: Sequence[Mapping[str, str]] = (),
        french_goal: str = "correct",
    ):
        self.action_names = tuple(action_names)
        self.french_goal = french_goal
        self.faithful_missing_first_obs = faithful_missing_first_obs
        self.language = language
        self.substitutions = tuple(substitutions)
        self.memories = [PromptMemory(nbr_obs) for _ in range(num_envs)]
        # An env's first observation ever is always shown: the authors' bug only hits after a done.
        self._observed = [False] * num_envs
        self._episode_ended = [False] * num_envs

    def observe(self, descriptions: Sequence[Sequence[str]]) -> None:
        """Add each env's new observation (a tuple of description sentences)."""
        for i, sentences in enumerate(descriptions):
            if self._episode_ended[i]:
                start_new_episode(self.memories[i], sentences, self.faithful_missing_first_obs)
            else:
                self.memories[i].add_observation(sentences)
            self._observed[i], self._episode_ended[i] = True, False

    def episode_ended(self, env_index: int) -> None:
        """Env ``env_index`` finished an episode; its next observation starts a new one."""
        if self._observed[env_index]:
            self._episode_ended[env_index] = True

    def record_actions(self, indices: Sequence[int]) -> None:
        """Remember the action chosen in each env (candidate indices into ``action_names``)."""
        for memory, index in zip(self.memories, indices):
            memory.add_action(self.action_names[int(index)])

    def prompts(self, missions: Sequence[str]) -> list[str]:
        """The prompt of every env, rewritten by the test substitutions if any (§D.1)."""
        options = {"french_goal": self.french_goal} if self.language == "fr" else {}
        return [
            apply_substitutions(
                memory.prompt(mission, self.action_names, language=self.language, **options),
                self.substitutions,
            )
            for memory, mission in zip(self.memories, missions)
        ]

    def state_dict(self) -> dict:
        return {
            "observations": [list(m.observations) for m in self.memories],
            "actions": [list(m.actions) for m in self.memories],
            "observed": list(self._observed),
            "episode_ended": list(self._episode_ended),
        }

    def load_state_dict(self, state: dict) -> None:
        for memory, observations, actions in zip(self.memories, state["observations"], state["actions"]):
            memory.reset()
            for sentences in observations:
                memory.add_observation(sentences)
            for action in actions:
                memory.add_action(action)
        self._observed = list(state["observed"])
        self._episode_ended = list(state["episode_ended"])
