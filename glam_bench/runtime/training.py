"""The one training loop: updates, ``train_log.csv`` rows, checkpoints, resume.

Every learner (LLM PPO, DRRN, Symbolic-PPO, behavioural cloning) implements
:class:`Learner`: collect data and update once, and save/restore its whole
state. :func:`train` does the rest identically for all of them: a progress
bar, one log row per update (§G) written atomically, a checkpoint every
``checkpoint_every`` updates, after the last one and when the job is sent
SIGTERM (preemption, a SLURM time limit), resume from the last checkpoint, and
``done.json`` at the end.

Time spent checkpointing is measured: ``train_log.csv``'s ``checkpoint_s``
column holds the seconds spent writing checkpoints before that row, and its
``duration`` (the run's wall time, which ``glam-bench status`` divides frames
by for its ETA) includes them; ``fps`` is one update's frames over that
update's own time, without checkpointing.

Order of writes per update: log rows first, checkpoint second. The checkpoint
carries the logs' text as of its update, so a resumed run rewrites any log that
differs from it (rows past the checkpoint from a kill between the two writes,
or a log damaged or deleted meanwhile) and a resumed run's log equals an
uninterrupted run's. A checkpoint records the run config; one written under
other settings is moved aside and the run starts over (``runs.load_checkpoint``), or
resumes the checkpoint moved aside earlier under the current settings. A run that
starts over, or resumes a checkpoint moved aside, loses its tests: they evaluated
another policy. ``done.json`` names the final checkpoint's sha256, which each
evaluation records, so a test of another policy is never reported as this run's.

A run directory has one writer at a time (``runlock.run_lock``); temporary files
a killed writer left are removed once the lock is held.
"""

from __future__ import annotations

import contextlib
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from glam_bench.errors import GlamBenchError
from glam_bench.runtime.config import RunConfig
from glam_bench.runtime.devices import resolve_device
from glam_bench.rl.episodes import Episode
from glam_bench.runtime.results import with_rows, write_text
from glam_bench.rl.stats import EpisodeWindow, update_row
from glam_bench.runtime.runlock import run_lock
from glam_bench.runtime.runs import (
    RunPaths,
    checked_log,
    checkpoint_digest,
    checkpoint_in_run_json,
    environment_info,
    load_checkpoint,
    read_json,
    remove_stray_temporaries,
    remove_tests,
    restore_logs,
    save_checkpoint,
    segment_record,
    set_rng_state,
    settings_key,
    write_json,
)
from glam_bench.runtime.tensorboard_log import TensorBoardRows


@dataclass(frozen=True)
class Schedule:
    """How long a run trains: its number of updates and the frames each update counts.

    ``frames_per_update`` fills the ``frames`` column of ``train_log.csv``
    (``update x frames_per_update``) and ``done.json``.
    """

    num_updates: int
    frames_per_update: int


def frame_schedule(config: RunConfig) -> Schedule:
    """Learners that step envs: ``num_envs x frames_per_env`` frames per update, as many
    updates as reach ``total_frames`` (1,172 for the paper's 1.5M, §C)."""
    frames_per_update = config.num_envs * config.frames_per_env
    return Schedule(-(-config.total_frames // frames_per_update), frames_per_update)


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
        """Everything needed to continue exactly: weights, optimizer, envs, RNGs, memories.

        Called on every rank of a distributed run (a sharded learner gathers collectively);
        only rank 0's is written."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def schedule(self, config: RunConfig) -> Schedule:
        """How many updates :func:`train` runs and the frames each counts: env frames by
        default (:func:`frame_schedule`); behavioural cloning counts optimizer steps."""
        return frame_schedule(config)

    def close(self) -> None:
        """Release envs and processes."""

    def weights(self) -> dict[str, Any] | None:
        """Which pretrained weights it started from (revision, sha256 per file; recorded in
        run.json), or None for a learner that loads none."""
        return None

    def data_parallel(self) -> str | None:
        """The engine sharing the model over the processes of a torchrun job (``ddp``,
        ``fsdp``; recorded in run.json's segments), or None for a learner in one process."""
        return None


class TrainingStopped(GlamBenchError, RuntimeError):
    """The job was sent SIGTERM; its checkpoint is written, and re-running it resumes."""


#: SIGTERMs closer together than this (s) are one request delivered twice: SLURM signals
#: every process of the job step, and torchrun also forwards the one it received to its ranks.
REPEATED_SIGNAL_S = 60.0


class StopRequest:
    """Set by SIGTERM while :func:`train` runs: the loop checkpoints after the current update
    and stops. A SIGTERM more than :data:`REPEATED_SIGNAL_S` after the first kills at once
    (the default action), for a job that hangs; one sooner is the same request again."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.received_at = 0.0

    def __call__(self, signum: int, frame) -> None:
        now = time.monotonic()
        if self.signal is None:
            self.signal, self.received_at = signum, now
        elif now - self.received_at > REPEATED_SIGNAL_S:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[StopRequest]:
    """Turn SIGTERM into a :class:`StopRequest` for the ``with`` block (main thread only)."""
    request = StopRequest()
    try:
        previous = signal.signal(signal.SIGTERM, request)
    except ValueError:  # not the main thread: no handler, never a stop request
        yield request
        return
    try:
        yield request
    finally:
        signal.signal(signal.SIGTERM, previous)


def agreed_stop(stop: bool) -> bool:
    """Whether any rank was asked to stop: every rank must take the same last checkpoint
    (a sharded learner gathers it collectively), and torchrun signals ranks one by one."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return stop
    device = (torch.device("cuda", torch.cuda.current_device())
              if dist.get_backend() == "nccl" else torch.device("cpu"))
    flag = torch.tensor([int(stop)], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


def identity(config: RunConfig, model_name: str) -> dict[str, object]:
    """The identity columns every result row carries."""
    return {"experiment": config.experiment, "agent": config.agent, "model": model_name,
            "preset": config.preset, "seed": config.seed}


def write_run_json(config: RunConfig, paths: RunPaths, model_name: str,
                   segment: dict[str, Any] | None = None) -> None:
    """``run.json``: the resolved config, the model, versions, git revision, checkpoint path,
    and ``segments``: one record per start or resume (:func:`runs.segment_record`)."""
    write_json(paths.run_json, {
        "config": config.to_dict(), "model": model_name, "environment": environment_info(),
        "checkpoint": checkpoint_in_run_json(paths),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "segments": [segment] if segment is not None else [],
    })


def add_segment(paths: RunPaths, segment: dict[str, Any]) -> None:
    """Append a resumed segment's record to ``run.json`` (rewritten atomically)."""
    run = read_json(paths.run_json)
    run["segments"] = [*run.get("segments", []), segment]
    write_json(paths.run_json, run)


def _segment(config: RunConfig, learner: Learner, start: int) -> dict[str, Any]:
    device = getattr(learner, "device", None)
    if not isinstance(device, torch.device):
        device = resolve_device(config.device)
    return segment_record(device, start, learner.weights(), learner.data_parallel())


def register_untrained_run(config: RunConfig, paths: RunPaths, model_name: str) -> None:
    """A run directory for an agent evaluated without training (zero-shot, random, bot)."""
    with run_lock(paths.results):
        write_run_json(config, paths, model_name)
        write_json(paths.done, {"updates": 0, "frames": 0, "duration": 0.0, "model": model_name,
                                "trained": False, "config_sha256": settings_key(config.to_dict())})


def train(config: RunConfig, paths: RunPaths, learner: Learner, *, progress: bool = True,
          stop_after: int | None = None, is_main: bool = True, tensorboard: bool = False) -> int:
    """Train ``learner`` for its :meth:`Learner.schedule`, resuming if a checkpoint exists.

    ``stop_after`` ends the call after that many updates in total (tests use
    it to simulate a killed job). Returns the number of the last update done.
    Only the main process (rank 0 under torch.distributed) writes files, and
    it holds the run directory's lock throughout (a second training of the same
    run fails at once with :class:`glam_bench.runtime.runlock.RunLockedError`).
    ``tensorboard`` also mirrors each ``train_log.csv`` row into TensorBoard.
    """
    with contextlib.ExitStack() as stack:
        if is_main:
            stack.enter_context(run_lock(paths.results))
            remove_stray_temporaries(paths)
        stop = stack.enter_context(stop_on_sigterm())
        return _train(config, paths, learner, progress, stop_after, is_main, tensorboard, stop)


def _resume_logs(checkpoint: dict, paths: RunPaths) -> dict[str, str]:
    """The logs' text at the checkpoint's update, the files on disk made equal to it."""
    files = {"train_log": paths.train_log, "policy_log": paths.policy_log}
    carried = checkpoint.get("logs")
    if carried is not None:
        restore_logs({files[kind]: carried[kind] for kind in files}, checkpoint["update"],
                     paths.checkpoint)
        return dict(carried)
    return {kind: checked_log(path, kind, checkpoint["update"], paths.checkpoint)
            for kind, path in files.items()}


def _train(config: RunConfig, paths: RunPaths, learner: Learner, progress: bool,
           stop_after: int | None, is_main: bool, tensorboard: bool, stop: StopRequest) -> int:
    window = EpisodeWindow(config.num_envs)
    plan = learner.schedule(config)
    checkpoint = load_checkpoint(paths.checkpoint, config=config.to_dict())
    logs = {"train_log": "", "policy_log": ""}
    if checkpoint is None:
        start, elapsed, saving = 0, 0.0, 0.0
        if is_main:
            for stale in (paths.train_log, paths.policy_log, paths.done):
                stale.unlink(missing_ok=True)
            remove_tests(paths)
            write_run_json(config, paths, learner.model_name, _segment(config, learner, 0))
    else:
        # a resumed run continues the global RNG streams of the run it resumes (and only it:
        # loading a checkpoint elsewhere, e.g. to evaluate, leaves them alone)
        set_rng_state(checkpoint["rng"])
        learner.load_state_dict(checkpoint["learner"])
        window.load_state_dict(checkpoint["window"])
        start, elapsed = checkpoint["update"], checkpoint["elapsed"]
        saving = checkpoint.get("checkpoint_s", 0.0)  # older checkpoints did not measure it
        if is_main:
            if "restored_from" in checkpoint:  # a checkpoint moved aside earlier, resumed
                paths.done.unlink(missing_ok=True)
                remove_tests(paths)
                write_run_json(config, paths, learner.model_name)
            logs = _resume_logs(checkpoint, paths)
            add_segment(paths, _segment(config, learner, start))
    last = plan.num_updates if stop_after is None else min(stop_after, plan.num_updates)
    row_identity = identity(config, learner.model_name)
    bar = tqdm(total=plan.num_updates, initial=start, disable=not (progress and is_main),
               desc=f"{config.experiment}/{config.agent}/seed-{config.seed}", unit="update")
    board = TensorBoardRows(paths.results / "tensorboard") if tensorboard and is_main else None
    for update in range(start + 1, last + 1):
        began = time.perf_counter()
        result = learner.update()
        seconds = time.perf_counter() - began
        elapsed += seconds
        window.add(result.episodes)
        row = update_row(row_identity, update, update * plan.frames_per_update,
                         window.total_episodes, window.take(), config.reward_scale,
                         result.frames, seconds, elapsed + saving, result.losses)
        row["checkpoint_s"] = saving
        if is_main:
            logs["train_log"] = with_rows(logs["train_log"], [row], "train_log", paths.train_log)
            write_text(paths.train_log, logs["train_log"])
            if board is not None:
                board.add(row)
            policy_rows = [{**row_identity, "update": update, **row_}
                           for row_ in result.extra_rows.get("policy_log", [])]
            if policy_rows:
                logs["policy_log"] = with_rows(logs["policy_log"], policy_rows, "policy_log",
                                               paths.policy_log)
                write_text(paths.policy_log, logs["policy_log"])
        stopping = agreed_stop(stop.signal is not None)
        if stopping or update == last or update % config.checkpoint_every == 0:
            began = time.perf_counter()
            state = learner.state_dict()  # on every rank: an FSDP learner gathers its shards
            if is_main:
                save_checkpoint(paths.checkpoint, {"learner": state,
                                                   "window": window.state_dict(),
                                                   "update": update, "elapsed": elapsed,
                                                   "checkpoint_s": saving,
                                                   "config": config.to_dict(), "logs": dict(logs)})
            saving += time.perf_counter() - began
        if stopping:
            bar.close()
            raise TrainingStopped(
                f"{config.experiment}/{config.agent}/seed-{config.seed} stopped by SIGTERM after "
                f"update {update} of {plan.num_updates}; its checkpoint {paths.checkpoint} is "
                "written: run the same command again to resume")
        bar.update(1)
        bar.set_postfix(success=f"{row['success_rate']:.2f}", fps=f"{row['fps']:.0f}")
    bar.close()
    if board is not None:
        board.close()
    if is_main and last == plan.num_updates:
        run = read_json(paths.run_json)
        write_json(paths.done, {"updates": last, "frames": last * plan.frames_per_update,
                                "duration": elapsed + saving, "checkpoint_s": saving,
                                "model": learner.model_name,
                                "git_revision": run["environment"]["git_revision"],
                                "checkpoint_sha256": checkpoint_digest(paths.checkpoint)})
    return last
