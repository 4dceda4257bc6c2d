"""Compact storage of demonstration episodes; prompts are rebuilt on the fly (§B.1, §B.7, §C).

The authors saved every transition's finished prompt: 3.68 GB of prompts for
21.3 MB of actions per seed of bot demonstrations (§B.7). A prompt is a pure
function of the episode's mission, its observations so far and its actions so
far (§B.1), so this store keeps episodes, not prompts:

* a table of the unique description sentences and one of the unique missions
  (UTF-8, one per line);
* per episode: the env it ran in, its mission id and its length;
* per step: how many sentences its observation has (uint8), their ids
  (uint16 while the table is that small) and the env action taken (uint8).

:meth:`TransitionStore.prompt` rebuilds the prompt of any step for any
``nbr_obs`` and action names with :func:`glam_bench.paper.prompts.build_prompt`,
the function the agents' :class:`~glam_bench.paper.prompts.PromptMemory` uses, so
the prompts are the ones an LLM agent would have read while acting. The file
is a compressed ``.npz`` written atomically, with a JSON ``meta`` record
saying how it was collected.

Flat step ``s`` is the ``s``-th step of the episodes in stored order (the
order they finished in); the training and held-out splits are taken over the
*usable* steps, those whose action is one of the run's action names.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glam_bench.errors import GlamBenchError
from glam_bench.paper.prompts import build_prompt
from glam_bench.runtime.results import atomic_open
from glam_bench.paper.vocabulary import ACTIONS

FORMAT = 1
_ARRAYS = ("sentences", "missions", "episode_env", "episode_mission", "episode_length",
           "step_sentence_count", "step_sentences", "step_action", "meta")


class TransitionFileError(GlamBenchError, ValueError):
    """A stored transitions file that cannot be read; the message names it and the fix."""


@dataclass
class RecordedEpisode:
    """One episode as an agent lived it: the observation it acted on and its action, per step."""

    env_index: int
    mission: str
    observations: list[tuple[str, ...]] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.actions)


def action_name(action: int, action_names: Sequence[str]) -> str:
    """The text of env action ``action`` in a prompt offering ``action_names``.

    Actions outside the offered names (a bot's "pick up" when only three
    actions are offered) keep their canonical name; 6 is minigrid's "done".
    """
    if action < len(action_names):
        return action_names[action]
    return ACTIONS[action] if action < len(ACTIONS) else "done"


class TransitionStore:
    """Demonstration episodes as index arrays; see the module docstring for the layout."""

    def __init__(self, sentences: Sequence[str], missions: Sequence[str],
                 episode_env: np.ndarray, episode_mission: np.ndarray,
                 episode_length: np.ndarray, step_sentence_count: np.ndarray,
                 step_sentences: np.ndarray, step_action: np.ndarray, meta: dict[str, Any]):
        self.sentences = list(sentences)
        self.missions = list(missions)
        self.episode_env = np.asarray(episode_env)
        self.episode_mission = np.asarray(episode_mission)
        self.episode_length = np.asarray(episode_length)
        self.step_sentence_count = np.asarray(step_sentence_count)
        self.step_sentences = np.asarray(step_sentences)
        self.step_action = np.asarray(step_action)
        self.meta = dict(meta)
        self.episode_start = np.concatenate([[0], np.cumsum(self.episode_length)]).astype(np.int64)
        self.sentence_start = np.concatenate(
            [[0], np.cumsum(self.step_sentence_count, dtype=np.int64)])
        self.step_episode = np.repeat(np.arange(len(self.episode_length)), self.episode_length)

    # --- building -----------------------------------------------------------------

    @classmethod
    def from_episodes(cls, episodes: Sequence[RecordedEpisode], meta: dict[str, Any]) -> TransitionStore:
        sentence_ids: dict[str, int] = {}
        mission_ids: dict[str, int] = {}
        counts, ids, actions = [], [], []
        for episode in episodes:
            mission_ids.setdefault(episode.mission, len(mission_ids))
            for observation, action in zip(episode.observations, episode.actions, strict=True):
                counts.append(len(observation))
                ids.extend(sentence_ids.setdefault(s, len(sentence_ids)) for s in observation)
                actions.append(action)
        for text in (*sentence_ids, *mission_ids):
            if "\n" in text:
                raise ValueError(f"cannot store text containing a newline: {text!r}")
        return cls(
            list(sentence_ids), list(mission_ids),
            np.array([e.env_index for e in episodes], dtype=np.int32),
            np.array([mission_ids[e.mission] for e in episodes], dtype=np.int32),
            np.array([len(e) for e in episodes], dtype=np.int32),
            np.array(counts, dtype=_smallest_uint(max(counts, default=0))),
            np.array(ids, dtype=_smallest_uint(len(sentence_ids))),
            np.array(actions, dtype=np.uint8),
            {"format": FORMAT, **meta},
        )

    # --- reading ------------------------------------------------------------------

    @property
    def num_steps(self) -> int:
        return int(len(self.step_action))

    @property
    def num_episodes(self) -> int:
        return int(len(self.episode_length))

    def observation(self, step: int) -> tuple[str, ...]:
        lo, hi = self.sentence_start[step], self.sentence_start[step + 1]
        return tuple(self.sentences[i] for i in self.step_sentences[lo:hi])

    def action(self, step: int) -> int:
        return int(self.step_action[step])

    def mission(self, step: int) -> str:
        return self.missions[self.episode_mission[self.step_episode[step]]]

    def usable_steps(self, num_actions: int) -> np.ndarray:
        """Flat indices of the steps whose action is one of the first ``num_actions``."""
        return np.flatnonzero(self.step_action < num_actions)

    def prompt(self, step: int, nbr_obs: int, action_names: Sequence[str]) -> str:
        """The §B.1 prompt the agent read at flat step ``step``, with memory ``nbr_obs``."""
        episode = self.step_episode[step]
        start = int(self.episode_start[episode])
        first = max(start, step - nbr_obs + 1)
        observations = [self.observation(s) for s in range(first, step + 1)]
        taken = [action_name(self.action(s), action_names) for s in range(first, step)]
        return build_prompt(self.missions[self.episode_mission[episode]], observations, taken,
                            action_names)

    def prompt_bytes(self, nbr_obs: int, action_names: Sequence[str]) -> int:
        """UTF-8 bytes of every step's prompt and action text: what storing prompts would cost."""
        return sum(len(self.prompt(s, nbr_obs, action_names).encode("utf-8"))
                   + len(action_name(self.action(s), action_names).encode("utf-8"))
                   for s in range(self.num_steps))

    # --- files --------------------------------------------------------------------

    def save(self, path: str | Path) -> int:
        """Write the compressed file atomically; returns its size in bytes."""
        arrays = {
            "sentences": _text_array(self.sentences), "missions": _text_array(self.missions),
            "episode_env": self.episode_env, "episode_mission": self.episode_mission,
            "episode_length": self.episode_length, "step_sentence_count": self.step_sentence_count,
            "step_sentences": self.step_sentences, "step_action": self.step_action,
            "meta": np.frombuffer(json.dumps(self.meta, sort_keys=True).encode("utf-8"),
                                  dtype=np.uint8),
        }
        with atomic_open(path, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        return Path(path).stat().st_size

    @classmethod
    def load(cls, path: str | Path) -> TransitionStore:
        """Read a file written by :meth:`save`; a damaged or foreign file raises
        :class:`TransitionFileError` naming it."""
        path = Path(path)
        fix = f"delete {path} and re-run training to collect the transitions again"
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [name for name in _ARRAYS if name not in data.files]
                if missing:
                    raise TransitionFileError(f"transitions file {path} lacks arrays {missing}; {fix}")
                arrays = {name: data[name] for name in _ARRAYS}
            meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
            sentences = _text_list(arrays.pop("sentences"))
            missions = _text_list(arrays.pop("missions"))
        except TransitionFileError:
            raise
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile,
                UnicodeDecodeError) as error:
            raise TransitionFileError(
                f"transitions file {path} is corrupt or unreadable "
                f"({type(error).__name__}: {error}); {fix}") from error
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise TransitionFileError(f"transitions file {path} has an unknown format; {fix}")
        store = cls(sentences, missions, meta=meta, **arrays)
        problem = store._inconsistency()
        if problem:
            raise TransitionFileError(f"transitions file {path} is inconsistent ({problem}); {fix}")
        return store

    def _inconsistency(self) -> str | None:
        n_episodes = len(self.episode_length)
        if not len(self.episode_env) == len(self.episode_mission) == n_episodes:
            return "episode arrays differ in length"
        if (int(self.episode_length.sum()) != self.num_steps
                or len(self.step_sentence_count) != self.num_steps):
            return "episode lengths do not add up to the steps"
        if int(self.step_sentence_count.sum(dtype=np.int64)) != len(self.step_sentences):
            return "sentence counts do not add up to the stored sentence ids"
        if len(self.step_sentences) and int(self.step_sentences.max()) >= len(self.sentences):
            return "a sentence id is outside the sentence table"
        if n_episodes and int(self.episode_mission.max()) >= len(self.missions):
            return "a mission id is outside the mission table"
        return None


def _smallest_uint(largest: int) -> type:
    for dtype in (np.uint8, np.uint16, np.uint32):
        if largest <= np.iinfo(dtype).max:
            return dtype
    return np.uint64


def _text_array(texts: Sequence[str]) -> np.ndarray:
    """Each text followed by a newline, as UTF-8 bytes."""
    return np.frombuffer("".join(f"{t}\n" for t in texts).encode("utf-8"), dtype=np.uint8)


def _text_list(array: np.ndarray) -> list[str]:
    return array.tobytes().decode("utf-8").split("\n")[:-1]
