"""Collecting demonstrations with the episode runner: from the bot or a trained GFlan-T5 (§B.7, §C).

The demonstrator plays the run's training level (``config.env``) in
``config.num_envs`` envs seeded with the run's *training* seeds
(``env_seeds(seed, n, "train")``, §A.6), through
:func:`glam_bench.rl.episodes.run_episodes`, the runner of every test
set. :class:`RecordingAgent` wraps the demonstrator and records, per env,
each step's observation and action; an episode is stored when the runner
resets its env. Collection stops at the first finished episode that brings
the usable transitions (action among the run's action names) to
``bc.transitions + bc.eval_transitions``; episodes still running are dropped.

Demonstrators (§C):

* ``bc-bot``: the BabyAI planner bot (:class:`~glam_bench.agents.bot.BotAgent`).
* ``bc-gflan``: the finished ``gflan`` run of experiment ``bc.source_experiment``
  with the same seed, acting with sampled actions through the same candidate
  scorer as in its tests (:func:`glam_bench.agents.llm_ppo.build_agent`).

The authors collected with ``post-training_tests.py``, whose envs use the
*test* seeding ``1e9 * seed + i``; training seeds are used here so that the
BC agents' test episodes (``10**9 * seed + i``) are not the demonstrations.

The transitions are stored once in the run's work folder
(:data:`DATA_FILE`, :mod:`glam_bench.agents.bc.dataset`) and reloaded on
resume; a file collected under other settings is collected again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from glam_bench.agents.base import NOOP_ACTION, Agent
from glam_bench.agents.bc.dataset import RecordedEpisode, TransitionStore
from glam_bench.agents.bc.settings import SOURCES, BCSettings
from glam_bench.agents.bot import BotAgent
from glam_bench.runtime.config import ConfigError, RunConfig
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.errors import GlamBenchError
from glam_bench.rl.episodes import run_episodes
from glam_bench.runtime.runs import RunPaths, load_checkpoint, read_json
from glam_bench.paper.vocabulary import ACTION_SPACES

#: The transitions file in a BC run's work folder.
DATA_FILE = "bc_transitions.npz"
#: Episodes asked of the runner: collection ends by itself long before.
_UNBOUNDED_EPISODES = 10**12


class SourceRunError(GlamBenchError, FileNotFoundError):
    """bc-gflan's demonstrator run is missing or unfinished; the message names the file and
    the command that produces it."""


class _EnoughTransitions(Exception):
    """Raised by :class:`RecordingAgent` to end collection."""


class RecordingAgent(Agent):
    """Wraps an agent and records the episodes it plays (observation and action per step).

    ``usable(action)`` says whether a step counts towards ``stop_after``;
    reaching it at an episode end stops the runner. ``on_episode(episode)``
    sees each stored episode.
    """

    def __init__(self, inner: Agent, usable: Callable[[int], bool], stop_after: int | None = None,
                 on_episode: Callable[[RecordedEpisode], None] | None = None):
        super().__init__(inner.num_envs)
        self.inner, self.usable, self.stop_after, self.on_episode = inner, usable, stop_after, on_episode
        self.name, self.model = inner.name, inner.model
        self.current: list[RecordedEpisode | None] = [None] * inner.num_envs
        self.episodes: list[RecordedEpisode] = []
        self.usable_steps = 0

    def act(self, observations: Mapping[str, Any]) -> np.ndarray:
        actions = np.asarray(self.inner.act(observations))
        for i in range(self.num_envs):
            mission = str(observations["mission"][i])
            episode = self.current[i]
            if episode is None:
                episode = self.current[i] = RecordedEpisode(i, mission)
            elif episode.mission != mission:
                raise RuntimeError(f"env {i}: the mission changed within an episode "
                                   f"({episode.mission!r} -> {mission!r}); cannot store it")
            episode.observations.append(tuple(str(s) for s in observations["descriptions"][i]))
            episode.actions.append(int(actions[i]))
        return actions

    def reset(self, env_index: int) -> None:
        self.inner.reset(env_index)
        episode, self.current[env_index] = self.current[env_index], None
        if not episode:
            return
        self.episodes.append(episode)
        self.usable_steps += sum(1 for a in episode.actions if self.usable(a))
        if self.on_episode is not None:
            self.on_episode(episode)
        if self.stop_after is not None and self.usable_steps >= self.stop_after:
            raise _EnoughTransitions


def record_episodes(vector_env, agent: Agent, seeds: list[int], num_actions: int,
                    min_usable: int, progress: bool = True) -> list[RecordedEpisode]:
    """Play with ``agent`` until finished episodes hold ``min_usable`` steps whose action is
    below ``num_actions``; return the episodes in the order they finished."""
    bar = tqdm(total=min_usable, desc=f"collecting {agent.name} demonstrations",
               unit="transition", disable=not progress)

    def count(episode: RecordedEpisode) -> None:
        bar.update(min(sum(1 for a in episode.actions if a < num_actions), bar.total - bar.n))

    recorder = RecordingAgent(agent, lambda a: a < num_actions, min_usable, count)
    try:
        run_episodes(vector_env, recorder, _UNBOUNDED_EPISODES, seeds, progress=False)
    except _EnoughTransitions:
        pass
    finally:
        bar.close()
    return recorder.episodes


# --- Demonstrators ----------------------------------------------------------------------


@dataclasses.dataclass
class GFlanSource:
    """A finished gflan run: its config, final learner state and ``done.json``."""

    paths: RunPaths
    config: RunConfig
    learner_state: dict
    done: dict


def source_paths(config: RunConfig, settings: BCSettings) -> RunPaths:
    """Where bc-gflan's demonstrator run lives: same seed, ``bc.source_experiment``, agent gflan."""
    return RunPaths.for_run(config.results_dir, config.work_dir, settings.source_experiment,
                            "gflan", config.seed)


def source_done(config: RunConfig, settings: BCSettings) -> tuple[RunPaths, dict]:
    """The source run's paths and ``done.json``; a clear error if it has not finished."""
    paths = source_paths(config, settings)
    command = (f"glam-bench train --config workflows/config/{config.preset}.yaml "
               f"--experiment {settings.source_experiment} --agent gflan --seed {config.seed} "
               f"--results-dir {config.results_dir} --work-dir {config.work_dir}")
    if not paths.done.exists():
        raise SourceRunError(
            f"{config.agent} (seed {config.seed}) imitates the trained gflan run of experiment "
            f"{settings.source_experiment!r}, but {paths.done} does not exist: that run is missing "
            f"or unfinished. Train it first:\n    {command}")
    if not paths.checkpoint.exists():
        raise SourceRunError(
            f"{config.agent} (seed {config.seed}) needs the final checkpoint of its source run, "
            f"{paths.checkpoint}, which is missing. Re-train the source run:\n    {command}")
    return paths, read_json(paths.done)


def load_gflan_source(config: RunConfig, settings: BCSettings) -> GFlanSource:
    paths, done = source_done(config, settings)
    source_config = RunConfig.from_dict(read_json(paths.run_json)["config"])
    if source_config.action_space != config.action_space:
        raise ConfigError(
            f"{config.agent} uses the {config.action_space!r} action space but its source run "
            f"{paths.results} used {source_config.action_space!r}: the cloned action texts "
            "must be the ones the source chose from")
    if len(ACTION_SPACES[config.action_space]) > NOOP_ACTION:
        raise ConfigError(
            f"{config.agent} records env actions, and candidates past the sixth all map to the "
            f"env no-op ({config.action_space!r} space), so they cannot be told apart; "
            "bc-gflan supports the 'restricted' and 'canonical' action spaces")
    payload = load_checkpoint(paths.checkpoint)
    return GFlanSource(paths, source_config, payload["learner"], done)


def demonstrator(config: RunConfig, vector_env, source: GFlanSource | None) -> Agent:
    """The acting demonstrator of a BC run (§C)."""
    if source is None:
        return BotAgent(vector_env)
    from glam_bench.agents.llm_ppo import build_agent
    from glam_bench.paper.test_sets import get_test_set

    acting = dataclasses.replace(source.config, models_dir=config.models_dir, device=config.device)
    agent = build_agent(acting, source.learner_state, vector_env, get_test_set("no_change"),
                        config.seed)
    agent.name = f"gflan ({source.paths.results})"
    return agent


# --- The stored data of a run ---------------------------------------------------------------


def collection_key(config: RunConfig, settings: BCSettings) -> dict[str, Any]:
    """What the stored transitions depend on; a file with another key is collected again."""
    if config.agent not in SOURCES:
        raise ConfigError(f"{config.agent!r} is not a behavioural-cloning agent ({sorted(SOURCES)})")
    key: dict[str, Any] = {
        "source": SOURCES[config.agent], "env": config.env, "seed": config.seed,
        "num_envs": config.num_envs, "text_fixes": config.text_fixes,
        "task_sampling": config.task_sampling,
        "num_actions": len(ACTION_SPACES[config.action_space]),
        "usable_transitions": settings.collected_transitions,
    }
    if key["source"] == "gflan":
        paths, done = source_done(config, settings)
        key["source_run"] = str(paths.results)
        key["source_done"] = done
    return key


def load_or_collect(config: RunConfig, settings: BCSettings, path: Path,
                    progress: bool = True) -> tuple[TransitionStore, dict[str, Any]]:
    """The run's stored transitions, collected first if the file is absent or stale.

    Returns the store and a summary of its size: file bytes per transition
    against the UTF-8 bytes of the equivalent prompts (built with the run's
    ``nbr_obs``) and action texts.
    """
    key = collection_key(config, settings)
    store = TransitionStore.load(path) if path.exists() else None
    seconds = 0.0
    if store is None or store.meta.get("key") != key:
        if store is not None and progress:
            print(f"{path} was collected under other settings; collecting again")
        began = time.perf_counter()
        store = collect(config, settings, key, progress)
        seconds = time.perf_counter() - began
        store.save(path)
    names = ACTION_SPACES[config.action_space]
    file_bytes = path.stat().st_size
    prompt_bytes = store.prompt_bytes(config.nbr_obs, names)
    summary = {
        "file": str(path), "source": key["source"], "episodes": store.num_episodes,
        "transitions": store.num_steps,
        "usable_transitions": int(len(store.usable_steps(len(names)))),
        "file_bytes": file_bytes, "bytes_per_transition": file_bytes / store.num_steps,
        "prompt_bytes_per_transition": prompt_bytes / store.num_steps,
        "prompt_bytes_over_file_bytes": prompt_bytes / file_bytes,
        "nbr_obs": config.nbr_obs, "collection_seconds": seconds or store.meta.get("seconds"),
    }
    return store, summary


def collect(config: RunConfig, settings: BCSettings, key: dict[str, Any],
            progress: bool = True) -> TransitionStore:
    """Play the demonstrator on the training level and return the stored episodes."""
    source = load_gflan_source(config, settings) if key["source"] == "gflan" else None
    vector_env = make_vector_env(config.env, config.num_envs, text_fixes=config.text_fixes,
                                 task_sampling=config.task_sampling)
    began = time.perf_counter()
    try:
        agent = demonstrator(config, vector_env, source)
        episodes = record_episodes(vector_env, agent, env_seeds(config.seed, config.num_envs),
                                   key["num_actions"], settings.collected_transitions, progress)
    finally:
        vector_env.close()
    meta = {"key": key, "seconds": time.perf_counter() - began,
            "demonstrator": agent.name, "action_names": list(ACTION_SPACES[config.action_space])}
    return TransitionStore.from_episodes(episodes, meta)
