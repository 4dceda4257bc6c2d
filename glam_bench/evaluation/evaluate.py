"""Evaluate one run on one test set: a tidy per-episode CSV (§D.1).

Episodes use the test seeding of §A.6 (``10**9 * seed + i``) and sampled
actions, as the paper did. The run's agent is rebuilt from its final
checkpoint, verified against its digest first; zero-shot, random and bot runs
have none. The output path and the device are checked before any episode runs.
The CSV is written first, then its record (``results.write_episode_record``):
the episode count and the CSV's digest for the report to check, and what was
evaluated (the checkpoint's sha256, or the config's for an untrained agent), which
the report compares with the run's ``done.json``.

The test protocol is the preset's ``evaluation`` block: ``task_sampling``
(one task kind per episode or per env instance, §A.5; by default the run's
own) and ``counting`` (a quota per env, or the first N episodes to end as
the authors counted, §D.1). Both go in the CSV's evaluation record
(``tests/<test>.json``) so figures can say which protocol they show.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from glam_bench.agents.families import build_agent, is_trained, reads_text
from glam_bench.runtime.config import RunConfig
from glam_bench.errors import GlamBenchError
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.rl.episodes import run_episodes
from glam_bench.paper.test_sets import get_test_set, scored_as
from glam_bench.pipeline.preset_checks import check_device
from glam_bench.runtime.results import check_output_path, write_csv, write_episode_record
from glam_bench.runtime.runs import (
    CheckpointError,
    checkpoint_of,
    load_checkpoint,
    read_json,
    set_rng_state,
    settings_key,
)


class RunNotFinishedError(GlamBenchError, RuntimeError):
    """Evaluation asked of a run that has not finished training."""


def load_run(run_dir: Path) -> tuple[RunConfig, dict]:
    run = read_json(Path(run_dir) / "run.json")
    return RunConfig.from_dict(run["config"]), run


def final_checkpoint(run_dir: Path, run: dict, config: RunConfig) -> dict | None:
    """The final checkpoint of a finished trained run, or None for reference agents."""
    if not is_trained(config.agent):
        return None
    if not (Path(run_dir) / "done.json").exists():
        raise RunNotFinishedError(
            f"{run_dir} has not finished training (no done.json); run `glam-bench train` first"
        )
    checkpoint = checkpoint_of(run_dir, run)
    payload = load_checkpoint(checkpoint)
    if payload is None:
        raise CheckpointError(
            f"the checkpoint of {run_dir} ({checkpoint}) is missing; re-run its training"
        )
    return payload


def evaluate_run(run_dir: str | Path, test: str, episodes: int, num_envs: int = 32,
                 out: str | Path | None = None, progress: bool = True,
                 task_sampling: str | None = None, counting: str = "per_env",
                 french_candidates: str = "french") -> Path:
    """Play ``episodes`` test episodes of ``test`` with the run's agent; write and return the CSV.

    ``task_sampling`` None means the run's own ``task_sampling``. ``french_candidates``
    (French tests only) picks the scored action names (``test_sets.scored_as``); the
    record of a French test says which.
    """
    run_dir = Path(run_dir)
    test_set = scored_as(get_test_set(test), french_candidates)
    out = Path(out) if out is not None else run_dir / "tests" / f"{test}.csv"
    check_output_path(out)
    config, run = load_run(run_dir)
    check_device(config.device, f"{run_dir / 'run.json'}: config/device")
    checkpoint = final_checkpoint(run_dir, run, config)
    if checkpoint is not None:
        # A policy left in train mode (non_pretrained_dropout, §B.4) draws its dropout from the
        # global torch RNG: its tests continue that RNG from where training ended. No other
        # agent reads the global RNGs (each acts with its own seeded generator).
        set_rng_state(checkpoint["rng"])
    state = checkpoint["learner"] if checkpoint is not None else None
    num_envs = min(num_envs, episodes)
    env_id = test_set.env_for(config.env)
    task_sampling = task_sampling or config.task_sampling
    vector_env = make_vector_env(env_id, num_envs, text_fixes=config.text_fixes,
                                 task_sampling=task_sampling, render_text=reads_text(config.agent))
    try:
        agent = build_agent(config, state, vector_env, test_set, config.seed)
        finished = run_episodes(vector_env, agent, episodes,
                                env_seeds(config.seed, num_envs, "test"), progress=progress,
                                counting=counting)
    finally:
        vector_env.close()
    frame = pd.DataFrame({
        "experiment": config.experiment, "agent": config.agent, "model": run["model"],
        "preset": config.preset, "seed": config.seed, "test": test,
        "episode": range(len(finished)),
        "task_kind": [e.task_kind for e in finished],
        "return": [e.episode_return for e in finished],
        "success": [int(e.success) for e in finished],
        "length": [e.length for e in finished],
        "env": env_id,
    })
    # the CSV first: a failed write leaves the previous CSV and record, which agree; the record
    # carries the CSV's digest, so a kill between the two writes leaves a pair the report refuses
    write_csv(out, frame, "episodes")
    evaluated = ({"checkpoint_sha256": checkpoint["sha256"]} if checkpoint is not None
                 else {"config_sha256": settings_key(run["config"])})
    scoring = {"french_candidates": french_candidates} if test_set.language == "fr" else {}
    write_episode_record(out, len(frame), test, task_sampling=task_sampling, counting=counting,
                         num_envs=num_envs, **scoring, **evaluated)
    return out
