"""The one training loop: updates, ``train_log.csv`` rows, checkpoints, resume.

Every learner (LLM PPO, DRRN, Symbolic-PPO, behavioural cloning) implements
:class:`Learner`: collect data and update once, and save/restore its whole
state. :func:`train` does the rest identically for all of them: a progress
bar, one log row per update (§G) written atomically, a checkpoint after every
update, resume from the last checkpoint, and ``done.json`` at the end.

Order of writes per update: log rows first, checkpoint second. A run killed
between the two resumes from the previous checkpoint and first drops the log
rows past it, so a resumed run's log equals an uninterrupted run's. A
checkpoint records the run config; one written under other settings is moved
aside and the run starts over (``runs.load_checkpoint``).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from glam_bench.config import RunConfig
from glam_bench.evaluation.runner import Episode
from glam_bench.results import append_csv_row
from glam_bench.rl.stats import EpisodeWindow, update_row
from glam_bench.runs import (
    RunPaths,
    environment_info,
    load_checkpoint,
    read_json,
    save_checkpoint,
    truncate_log,
    write_json,
)
from glam_bench.tensorboard_log import TensorBoardRows


@dataclass
class UpdateResult:
    """What one learner update produced."""

    frames: int
    episodes: list[Episode]
    losses: dict[str, float]
    #: Extra rows for other logs, e.g. {"policy_log": [row, ...]}.
    extra_rows: dict[str, list[dict]] = field(default_factory=dict)


class Learner(ABC):
    """A trainable agent, driven by :func:`train`."""

    #: The model its decisions come from, written on every result row.
    model_name: str = "none"

    @abstractmethod
    def update(self) -> UpdateResult:
        """Collect one update's data and learn from it."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimizer, envs, RNGs, memories."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def close(self) -> None:
        """Release envs and processes."""


def identity(config: RunConfig, model_name: str) -> dict[str, object]:
    """The identity columns every result row carries."""
    return {"experiment": config.experiment, "agent": config.agent, "model": model_name,
            "preset": config.preset, "seed": config.seed}


def write_run_json(config: RunConfig, paths: RunPaths, model_name: str) -> None:
    """``run.json``: the resolved config, the model, versions, git revision, checkpoint path."""
    write_json(paths.run_json, {
        "config": config.to_dict(), "model": model_name, "environment": environment_info(),
        "checkpoint": str(paths.checkpoint), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })


def register_untrained_run(config: RunConfig, paths: RunPaths, model_name: str) -> None:
    """A run directory for an agent evaluated without training (zero-shot, random, bot)."""
    write_run_json(config, paths, model_name)
    write_json(paths.done, {"updates": 0, "frames": 0, "duration": 0.0, "model": model_name,
                            "trained": False})


def train(config: RunConfig, paths: RunPaths, learner: Learner, *, progress: bool = True,
          stop_after: int | None = None, is_main: bool = True, tensorboard: bool = False) -> int:
    """Train ``learner`` to ``config.num_updates`` updates, resuming if a checkpoint exists.

    ``stop_after`` ends the call after that many updates in total (tests use
    it to simulate a killed job). Returns the number of the last update done.
    Only the main process (rank 0 under torch.distributed) writes files.
    ``tensorboard`` also mirrors each ``train_log.csv`` row into TensorBoard.
    """
    window = EpisodeWindow(config.num_envs)
    checkpoint = load_checkpoint(paths.checkpoint, config=config.to_dict())
    if checkpoint is None:
        start, elapsed = 0, 0.0
        if is_main:
            for stale in (paths.train_log, paths.policy_log, paths.done):
                stale.unlink(missing_ok=True)
            write_run_json(config, paths, learner.model_name)
    else:
        learner.load_state_dict(checkpoint["learner"])
        window.load_state_dict(checkpoint["window"])
        start, elapsed = checkpoint["update"], checkpoint["elapsed"]
        if is_main:
            truncate_log(paths.train_log, start)
            truncate_log(paths.policy_log, start)
    last = config.num_updates if stop_after is None else min(stop_after, config.num_updates)
    row_identity = identity(config, learner.model_name)
    bar = tqdm(total=config.num_updates, initial=start, disable=not (progress and is_main),
               desc=f"{config.experiment}/{config.agent}/seed-{config.seed}", unit="update")
    board = TensorBoardRows(paths.results / "tensorboard") if tensorboard and is_main else None
    for update in range(start + 1, last + 1):
        began = time.perf_counter()
        result = learner.update()
        seconds = time.perf_counter() - began
        elapsed += seconds
        window.add(result.episodes)
        row = update_row(row_identity, update, update * config.frames_per_update,
                         window.total_episodes, window.take(), config.reward_scale,
                         result.frames, seconds, elapsed, result.losses)
        if is_main:
            append_csv_row(paths.train_log, row, "train_log")
            if board is not None:
                board.add(row)
            for row_ in result.extra_rows.get("policy_log", []):
                append_csv_row(paths.policy_log, {**row_identity, "update": update, **row_},
                               "policy_log")
            save_checkpoint(paths.checkpoint, {"learner": learner.state_dict(),
                                               "window": window.state_dict(),
                                               "update": update, "elapsed": elapsed,
                                               "config": config.to_dict()})
        bar.update(1)
        bar.set_postfix(success=f"{row['success_rate']:.2f}", fps=f"{row['fps']:.0f}")
    bar.close()
    if board is not None:
        board.close()
    if is_main and last == config.num_updates:
        run = read_json(paths.run_json)
        write_json(paths.done, {"updates": last, "frames": last * config.frames_per_update,
                                "duration": elapsed, "model": learner.model_name,
                                "git_revision": run["environment"]["git_revision"]})
    return last
