"""Checkpoints at the preset's interval, always after the last update and on SIGTERM, with their
cost measured (issue 22 item 6)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from glam_bench.runtime import training
from glam_bench.runtime.config import ConfigError, RunConfig, resolve_run, validate_preset
from glam_bench.runtime.runs import RunPaths, load_checkpoint, seed_everything
from glam_bench.runtime.training import Learner, TrainingStopped, UpdateResult, train

CI = Path(__file__).resolve().parents[1] / "workflows" / "config" / "ci.yaml"
LOSSES = ("entropy", "policy_loss", "value_loss", "grad_norm")


class Crash(Exception):
    """A job killed mid-update (SIGKILL, a node failure): nothing after it runs."""


class RngLearner(Learner):
    """Draws its loss from the global torch RNG; ``on_update[n]`` runs during update n."""

    def __init__(self, on_update: dict | None = None) -> None:
        self.done = 0
        self.on_update = on_update or {}

    def update(self) -> UpdateResult:
        self.done += 1
        if self.done in self.on_update:
            self.on_update[self.done]()
        return UpdateResult(frames=1, episodes=[],
                            losses={"loss": float(torch.rand(())), **{k: 0.0 for k in LOSSES}})

    def state_dict(self) -> dict:
        return {"done": self.done}

    def load_state_dict(self, state: dict) -> None:
        self.done = state["done"]


def config(every: int, updates: int = 5) -> RunConfig:
    return RunConfig(experiment="ckpt", agent="gflan", seed=1, env="BabyAI-Text-GoToRedBall-v0",
                     num_envs=1, frames_per_env=1, total_frames=updates, checkpoint_every=every)


def paths(tmp_path, name: str) -> RunPaths:
    return RunPaths.for_run(tmp_path / name, tmp_path / name / "work", "ckpt", "gflan", 1)


@pytest.fixture
def saved(monkeypatch) -> list[int]:
    """The update of every checkpoint written."""
    written: list[int] = []
    real = training.save_checkpoint

    def spy(path, state):
        written.append(state["update"])
        real(path, state)

    monkeypatch.setattr(training, "save_checkpoint", spy)
    return written


def losses(run: RunPaths) -> list[float]:
    return pd.read_csv(run.train_log)["loss"].tolist()


def test_checkpoints_every_n_updates_and_after_the_last(tmp_path, saved):
    train(config(every=2), paths(tmp_path, "a"), RngLearner(), progress=False)
    assert saved == [2, 4, 5]
    saved.clear()
    train(config(every=2), paths(tmp_path, "b"), RngLearner(), progress=False, stop_after=3)
    assert saved == [2, 3]


def test_a_kill_between_checkpoints_resumes_from_the_last_one_exactly(tmp_path, saved):
    seed_everything(1)
    train(config(every=2), paths(tmp_path, "straight"), RngLearner(), progress=False)
    seed_everything(1)

    def crash():
        raise Crash

    with pytest.raises(Crash):
        train(config(every=2), paths(tmp_path, "killed"), RngLearner({4: crash}), progress=False)
    assert len(losses(paths(tmp_path, "killed"))) == 3  # rows of update 3 outlive its checkpoint
    seed_everything(7)
    train(config(every=2), paths(tmp_path, "killed"), RngLearner(), progress=False)
    assert losses(paths(tmp_path, "killed")) == losses(paths(tmp_path, "straight"))


def test_sigterm_checkpoints_the_current_update_and_a_rerun_resumes_exactly(tmp_path, saved):
    seed_everything(1)
    train(config(every=100), paths(tmp_path, "straight"), RngLearner(), progress=False)
    before = signal.getsignal(signal.SIGTERM)
    seed_everything(1)
    term = lambda: os.kill(os.getpid(), signal.SIGTERM)  # noqa: E731  (as SLURM/torchrun send it)
    run = paths(tmp_path, "preempted")
    saved.clear()
    with pytest.raises(TrainingStopped, match="SIGTERM after update 3 of 5.*resume"):
        train(config(every=100), run, RngLearner({3: term}), progress=False)
    assert saved == [3] and load_checkpoint(run.checkpoint)["update"] == 3
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is the loop's only
    assert not run.done.exists()
    seed_everything(7)
    train(config(every=100), run, RngLearner(), progress=False)
    assert losses(run) == losses(paths(tmp_path, "straight"))


def test_time_spent_checkpointing_is_measured_and_counted_in_duration(tmp_path, monkeypatch):
    real = training.save_checkpoint

    def slow(path, state):
        time.sleep(0.05)
        real(path, state)

    monkeypatch.setattr(training, "save_checkpoint", slow)
    run = paths(tmp_path, "timed")
    train(config(every=1, updates=4), run, RngLearner(), progress=False)
    log = pd.read_csv(run.train_log)
    assert log["checkpoint_s"].iloc[0] == 0.0  # before the first checkpoint
    assert log["checkpoint_s"].iloc[-1] >= 3 * 0.05  # three written before the last row
    assert (log["duration"] >= log["checkpoint_s"]).all()
    assert (log["duration"] - log["checkpoint_s"]).is_monotonic_increasing
    done = json.loads(run.done.read_text())
    assert done["checkpoint_s"] >= 4 * 0.05 and done["duration"] >= done["checkpoint_s"]


def test_the_interval_is_a_preset_setting_checked_by_the_schema():
    preset = yaml.safe_load(CI.read_text())
    preset["training"]["checkpoint_every"] = 0
    with pytest.raises(ConfigError, match="training/checkpoint_every"):
        validate_preset(preset)
    preset["training"]["checkpoint_every"] = 3
    assert resolve_run(validate_preset(preset), "mixed", "gflan", 1).checkpoint_every == 3
    assert RunConfig("e", "gflan", 1, "env").checkpoint_every == 1


# --- SIGTERM as a cluster delivers it (issue 22: SLURM's early signal, torchrun) -------------

REPO = Path(__file__).resolve().parents[1]

#: A run in a child process; SIGTERM arrives ``times`` times during update 3, ``gap`` s apart.
SIGTERM_CHILD = """
import os, signal, sys, time
sys.path.insert(0, {tests!r})
from glam_bench.runtime import training
from test_checkpointing import RngLearner, config, paths
from pathlib import Path
training.REPEATED_SIGNAL_S = {window}

def term():
    for _ in range({times}):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep({gap})

try:
    training.train(config(every=100), paths(Path({root!r}), "run"), RngLearner({{3: term}}),
                   progress=False)
except training.TrainingStopped:
    sys.exit(2)
"""


def sigterm_child(tmp_path, times: int, gap: float, window: float) -> subprocess.CompletedProcess:
    code = SIGTERM_CHILD.format(tests=str(REPO / "tests"), root=str(tmp_path), times=times,
                                gap=gap, window=window)
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_sigterm_delivered_twice_at_once_is_one_stop_request(tmp_path):
    """SLURM signals every process of the job step and torchrun forwards its own SIGTERM to
    the ranks: each rank gets two at once, and must still checkpoint, not die."""
    result = sigterm_child(tmp_path, times=2, gap=0.0, window=60.0)
    assert result.returncode == 2, result.stderr[-2000:]
    assert load_checkpoint(paths(tmp_path, "run").checkpoint)["update"] == 3


def test_a_later_second_sigterm_kills_a_job_that_hangs(tmp_path):
    result = sigterm_child(tmp_path, times=2, gap=0.3, window=0.1)
    assert result.returncode == -signal.SIGTERM


def one_run_preset(tmp_path: Path, updates: int) -> Path:
    """ci.yaml reduced to GoToLocal's GFlan run of ``updates`` updates of 2 x 2 frames."""
    preset = yaml.safe_load(CI.read_text())
    preset.update(experiments=["gotolocal"], tests={}, work_dir=str(tmp_path / "work"),
                  results_dir=str(tmp_path / "results"), models_dir=str(tmp_path / "models"))
    preset["training"].update(num_envs=2, frames_per_env=2, total_frames=4 * updates,
                              checkpoint_every=1000)
    preset["frame_budgets"] = {"gotolocal": 4 * updates}
    path = tmp_path / "one-run.yaml"
    path.write_text(yaml.safe_dump(preset))
    return path


def torchrun_train(preset: Path, grace_s: int) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            f"--shutdown_timeout={grace_s}", "-m", "glam_bench.cli", "train", "--config",
            str(preset), "--experiment", "gotolocal", "--agent", "gflan", "--seed", "1",
            "--threads", "1", "--no-progress"]


@pytest.mark.slow
def test_sigterm_to_a_torchrun_job_step_checkpoints_and_the_rerun_finishes(tmp_path):
    """SLURM's early signal (sbatch --signal=TERM@N) as it lands: SIGTERM to every process of
    the step at once, torchrun's agent and its two ranks. The ranks agree to stop after the
    current update, rank 0 writes the checkpoint within torchrun's shutdown timeout, and the
    resubmitted job resumes from it to the end without repeating an update."""
    updates = 60
    preset = one_run_preset(tmp_path, updates)
    run = RunPaths.for_run(tmp_path / "results", tmp_path / "work", "gotolocal", "gflan", 1)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    job = subprocess.Popen(torchrun_train(preset, grace_s=120), cwd=REPO, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and job.poll() is None and (
                not run.train_log.exists() or len(losses(run)) < 2):
            time.sleep(0.2)
        assert job.poll() is None, "the job ended before the signal: " + job.stdout.read()[-3000:]
        os.killpg(job.pid, signal.SIGTERM)
        output, _ = job.communicate(timeout=240)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode != 0 and not run.done.exists()
    assert "stopped by SIGTERM after update" in output, output[-3000:]
    stopped_at = load_checkpoint(run.checkpoint)["update"]
    assert 2 <= stopped_at < updates
    assert len(losses(run)) == stopped_at
    rerun = subprocess.run(torchrun_train(preset, grace_s=120), cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert pd.read_csv(run.train_log)["update"].tolist() == list(range(1, updates + 1))
