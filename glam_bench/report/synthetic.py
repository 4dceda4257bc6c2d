"""Synthetic result sets in the exact result schemas: for tests, benchmarks and demos.

The numbers are invented but shaped like the paper's (test success rates near
the published ones of §E.3, saturating learning curves), so a synthetic report
looks like a real one and exercises every figure. Nothing here is evidence.

Which runs exist comes from :mod:`glam_bench.paper.study` (experiments, their agents and
tests, model labels and sizes); only the invented numbers and the order they are
drawn in live here. An experiment or agent these tables do not list gets documented
defaults (factor 1, plateau ``_DEFAULT_PLATEAU``), so none vanishes from the set;
:func:`check_synthetic` refuses, at import, a table entry the study no longer declares.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from glam_bench.paper import study
from glam_bench.report.items import (
    GENERALISATION_AGENTS,
    GENERALISATION_FIGURE,
    GENERALISATION_TABLE_TESTS,
    POLICY_EVOLUTION,
    ReportItemError,
)
from glam_bench.report.published import paper_value
from glam_bench.runtime.results import (
    EPISODE_COLUMNS,
    POLICY_LOG_COLUMNS,
    TRAIN_LOG_COLUMNS,
    write_csv,
    write_episode_record,
)

#: Task kinds as written by ``glam_bench.envs.levels`` (§A.5).
MIXED_TASK_KINDS = ("goto", "pickup", "open", "putnext", "pick up seq go to")
NEW_COMPOSITION_KIND = "pick up seq pick up"
#: How much easier (>1) or harder each task kind is than the agent's average.
_KIND_FACTOR = {"goto": 1.15, "pickup": 1.05, "open": 1.0, "putnext": 0.8, "pick up seq go to": 1.0}
#: max_steps per task kind (§A.4).
_MAX_STEPS = {"goto": 64, "pickup": 64, "open": 128, "putnext": 128, "pick up seq go to": 128,
              NEW_COMPOSITION_KIND: 128}

#: Final training success of each agent on Mixed, and how fast it gets there (frames).
_PLATEAU = {"gflan": 0.9, "npae": 0.2, "drrn": 0.18, "symbolic-ppo": 0.45, "aflan": 0.6,
            "npa": 0.15, "npe": 0.25, "bc-gflan": 0.7, "bc-bot": 0.55, "random": 0.15,
            "zero-shot": 0.11}
_TAU = {"gflan": 120_000, "aflan": 200_000}
_DEFAULT_TAU = 500_000
#: How each experiment scales the plateau (GoToLocal is easier than Mixed, ...). Runs are
#: drawn from one random stream in this order, then any other default experiment of the
#: study in its order with factor 1 (opt-in experiments, LoRA, have no synthetic results).
_EXPERIMENT_FACTOR = {
    "mixed": 1.0, "gotolocal": 1.05, "actions-3": 1.0, "actions-9": 0.92, "distractors-4": 1.08,
    "distractors-16": 0.8, "bc": 1.0, "size-small": 0.45, "size-xl": 1.08, "obs-1": 0.8,
    "obs-6": 1.0, "obs-9": 0.95, "scorer-logprob": 1.05, "scorer-raw_logits": 1.0,
    "scorer-prob_ratio": 0.7, "pretraining": 1.05, "gotoredball": 1.6,
}
#: Where the agents of an experiment are not drawn in the study's order (kept so the set
#: stays the same); agents not listed follow in the study's order.
_AGENT_ORDER = {
    "mixed": ("random", "drrn", "npae", "zero-shot", "gflan", "symbolic-ppo"),
    "gotolocal": ("gflan", "npae", "drrn", "symbolic-ppo", "random", "zero-shot"),
}
#: Plateau of an agent ``_PLATEAU`` does not list (one a user adds to the study).
_DEFAULT_PLATEAU = 0.3
#: The tests an agent outside the generalisation figure takes: those that change no word
#: of the text (Symbolic-PPO reads none).
_WORDLESS_TESTS = ("no_change", "new_composition", "held_out_pairs")
#: How each test scales the training-task success when the paper has no value.
_TEST_FACTOR = {"adj_synonyms": 0.95, "invented_nouns": 0.92, "invented_adjectives": 0.9,
                "first_person_speaker": 0.97, "first_person_agent": 0.96,
                "synonym_actions_2": 0.3, "held_out_pairs": 0.8}


@dataclass(frozen=True)
class SyntheticRun:
    """One (experiment, agent): whether it trains, which tests it has, a policy log."""

    experiment: str
    agent: str
    trains: bool
    tests: tuple[str, ...]
    policy_log: bool = False


def _model(experiment: str, agent: str) -> str:
    """The ``model`` column: the model its real runs write (AgentSpec.model), or Flan-T5 of the experiment's size."""
    label = study.AGENTS_BY_NAME[agent].model
    return label or f"flan-t5-{study.EXPERIMENTS_BY_NAME[experiment].model_size or 'large'}"


def _experiments() -> tuple[str, ...]:
    """The study's default experiments, in drawing order."""
    listed = [e for e in _EXPERIMENT_FACTOR if e in study.DEFAULT_EXPERIMENTS]
    return (*listed, *(e for e in study.DEFAULT_EXPERIMENTS if e not in _EXPERIMENT_FACTOR))


def _agents(experiment: str) -> tuple[str, ...]:
    """Every agent of the experiment (trained, then reference), in drawing order."""
    spec = study.EXPERIMENTS_BY_NAME[experiment]
    every = (*spec.agents, *spec.reference_agents)
    listed = [a for a in _AGENT_ORDER.get(experiment, ()) if a in every]
    return (*listed, *(a for a in every if a not in listed))


def _tests(experiment: str, agent: str) -> tuple[str, ...]:
    """The study's tests of the experiment (``no_change`` where it has none), report order.

    Agents the generalisation figure does not show take only the wordless tests.
    """
    declared = study.EXPERIMENTS_BY_NAME[experiment].tests or ("no_change",)
    order = ("no_change", *GENERALISATION_TABLE_TESTS.get(experiment, ()))
    tests = sorted(declared, key=lambda t: order.index(t) if t in order else len(order))
    if agent not in GENERALISATION_AGENTS:
        tests = [t for t in tests if t in _WORDLESS_TESTS]
    return tuple(tests)


def synthetic_runs() -> list[SyntheticRun]:
    """Every (experiment, agent) of the study's default experiments, with its tests.

    LLM and baseline agents write a training log (BC's own log is not synthesised);
    the LLM agents of the policy-evolution experiment also write a policy log.
    """
    runs = []
    for experiment in _experiments():
        for agent in _agents(experiment):
            kind = study.AGENTS_BY_NAME[agent].kind
            runs.append(SyntheticRun(
                experiment, agent, trains=kind in ("llm", "baseline"),
                tests=_tests(experiment, agent),
                policy_log=kind == "llm" and experiment == POLICY_EVOLUTION.experiment))
    return runs


def check_synthetic() -> None:
    """Refuse numbers keyed by an experiment or agent the study no longer declares.

    A renamed experiment or agent would otherwise keep its invented numbers under the
    old name while the new one quietly took the defaults.
    """
    stale = {
        "_EXPERIMENT_FACTOR": [e for e in _EXPERIMENT_FACTOR if e not in study.DEFAULT_EXPERIMENTS],
        "_AGENT_ORDER": [f"{e}/{a}" for e, order in _AGENT_ORDER.items() for a in order
                         if e not in study.EXPERIMENTS_BY_NAME
                         or a not in (*study.EXPERIMENTS_BY_NAME[e].agents,
                                      *study.EXPERIMENTS_BY_NAME[e].reference_agents)],
        "_PLATEAU": [a for a in _PLATEAU if a not in study.AGENTS_BY_NAME],
        "_TAU": [a for a in _TAU if a not in study.AGENTS_BY_NAME],
    }
    for table, names in stale.items():
        if names:
            raise ReportItemError(
                f"synthetic results: {table} names {names}, which glam_bench.paper.study does not "
                f"declare (as a default experiment, or an agent of it); rename them in "
                "glam_bench/report/synthetic.py to the study's names")


check_synthetic()


def _plateau(experiment: str, agent: str) -> float:
    factor = _EXPERIMENT_FACTOR.get(experiment, 1.0)
    return min(0.99, _PLATEAU.get(agent, _DEFAULT_PLATEAU) * factor)


def _test_success(experiment: str, agent: str, test: str) -> float:
    """Target success rate: the paper's v2 value where it has one, else a scaled plateau."""
    published = paper_value(GENERALISATION_FIGURE, experiment=experiment, test=test,
                            agent=agent)
    if not math.isnan(published):
        return published
    base = _plateau("gotolocal" if test in ("french", "english_gotolocal") else experiment, agent)
    factor = _TEST_FACTOR.get(test, 0.3 if test in ("french", "new_composition") else 1.0)
    return min(0.99, base * factor)


def _identity(run: SyntheticRun, seed: int, preset: str, n: int) -> dict[str, object]:
    return {"experiment": [run.experiment] * n, "agent": [run.agent] * n,
            "model": [_model(run.experiment, run.agent)] * n, "preset": [preset] * n,
            "seed": [seed] * n}


def _episodes(run: SyntheticRun, seed: int, test: str, episodes: int, preset: str,
              rng: np.random.Generator) -> pd.DataFrame:
    if test == "new_composition":
        kinds = np.full(episodes, NEW_COMPOSITION_KIND, dtype=object)
    elif run.experiment == "mixed":
        kinds = rng.choice(np.array(MIXED_TASK_KINDS, dtype=object), size=episodes)
    else:
        kinds = np.full(episodes, "goto", dtype=object)
    p_seed = np.clip(_test_success(run.experiment, run.agent, test) + rng.normal(0, 0.02), 0, 1)
    p = np.full(episodes, p_seed)
    if run.experiment == "mixed":  # task kinds differ in difficulty (synthetic)
        p = np.clip(p * np.array([_KIND_FACTOR.get(k, 1.0) for k in kinds]), 0, 1)
    success = rng.random(episodes) < p
    max_steps = np.array([_MAX_STEPS.get(k, 64) for k in kinds])
    length = np.where(success, rng.integers(3, max_steps), max_steps)
    returns = np.where(success, 1 - 0.9 * length / max_steps, 0.0)
    data = _identity(run, seed, preset, episodes) | {
        "test": test, "episode": np.arange(episodes), "task_kind": kinds,
        "return": returns.round(4), "success": success.astype(int), "length": length,
    }
    return pd.DataFrame(data, columns=list(EPISODE_COLUMNS))


def _train_log(run: SyntheticRun, seed: int, updates: int, frames_per_update: int, preset: str,
               rng: np.random.Generator) -> pd.DataFrame:
    update = np.arange(1, updates + 1)
    frames = update * frames_per_update
    plateau = _plateau(run.experiment, run.agent) * (1 + rng.normal(0, 0.05))
    tau = _TAU.get(run.agent, _DEFAULT_TAU) / _EXPERIMENT_FACTOR.get(run.experiment, 1.0)
    success = np.clip(plateau * (1 - np.exp(-frames / tau)) + rng.normal(0, 0.04, updates), 0, 1)
    ret = success * 0.55
    data = _identity(run, seed, preset, updates) | {
        "update": update, "episodes": (frames / 40).astype(int), "frames": frames,
        "fps": rng.normal(900, 50, updates).round(1), "duration": (frames / 900).round(1),
        "return_mean": ret, "return_std": ret * 0.3, "return_min": 0.0,
        "return_max": ret.clip(0, 1),
        "success_rate": success,
        "reshaped_return_mean": 20 * ret, "reshaped_return_std": 6 * ret,
        "reshaped_return_min": 0.0, "reshaped_return_max": (20 * ret).clip(0, 20),
        "num_frames_mean": 64 - 40 * success, "num_frames_std": 10.0, "num_frames_min": 3,
        "num_frames_max": 64, "entropy": 1.79 * np.exp(-frames / 1e6),
        "policy_loss": rng.normal(0, 0.01, updates), "value_loss": rng.random(updates),
        "loss": rng.random(updates), "grad_norm": rng.random(updates),
    }
    return pd.DataFrame(data, columns=list(TRAIN_LOG_COLUMNS)).round(5)


_ACTIONS = ("turn left", "turn right", "go forward", "pick up", "drop", "toggle")


def _policy_log(run: SyntheticRun, seed: int, updates: int, n_prompts: int, preset: str,
                rng: np.random.Generator) -> pd.DataFrame:
    n_actions = len(_ACTIONS)
    u = np.arange(1, updates + 1)[:, None, None]
    logits = rng.normal(0, 0.3, (updates, n_prompts, n_actions))
    target = np.arange(n_prompts) % n_actions
    logits[:, np.arange(n_prompts), target] += (3 * (1 - np.exp(-u / (updates / 4))))[:, :, 0]
    probs = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    n = probs.size
    data = _identity(run, seed, preset, n) | {
        "update": np.repeat(u.ravel(), n_prompts * n_actions),
        "prompt_id": np.tile(np.repeat(np.arange(n_prompts), n_actions), updates),
        "action": np.tile(np.array(_ACTIONS, dtype=object), updates * n_prompts),
        "probability": probs.ravel().round(5),
    }
    return pd.DataFrame(data, columns=list(POLICY_LOG_COLUMNS))


def write_synthetic_results(
    root: Path,
    seeds: tuple[int, ...] = (1, 2),
    episodes: int = 1000,
    updates: int = 1172,
    frames_per_update: int = 1280,
    policy_updates: int | None = None,
    n_prompts: int = 11,
    preset: str = "synthetic",
    random_seed: int = 0,
) -> Path:
    """Write a full synthetic result set under ``root``; returns ``root``.

    Defaults match the paper preset's size (§C, §D.1): 1000 test episodes per
    test, 1,172 updates of 1,280 frames per run. Layout:
    ``{experiment}/{agent}/seed_{s}/``: ``done.json``, ``train_log.csv``, ``policy_log.csv``,
    ``tests/{test}.csv`` and its evaluation record ``tests/{test}.json``.
    """
    root = Path(root)
    rng = np.random.default_rng(random_seed)
    for run in synthetic_runs():
        for seed in seeds:
            folder = root / run.experiment / run.agent / f"seed_{seed}"
            if run.trains:
                frame = _train_log(run, seed, updates, frames_per_update, preset, rng)
                write_csv(folder / "train_log.csv", frame, "train_log")
            if run.policy_log:
                frame = _policy_log(run, seed, policy_updates or updates, n_prompts, preset, rng)
                write_csv(folder / "policy_log.csv", frame, "policy_log")
            for test in run.tests:
                frame = _episodes(run, seed, test, episodes, preset, rng)
                write_csv(folder / "tests" / f"{test}.csv", frame, "episodes")
                write_episode_record(folder / "tests" / f"{test}.csv", len(frame), test)
            done = {"updates": updates if run.trains else 0, "synthetic": True}
            (folder / "done.json").write_text(json.dumps(done), encoding="utf-8")
    return root
