"""``glam-bench status``: progress, frames/s and ETA read from a run's own files (issue 12)."""

from __future__ import annotations

import json

import pytest

from glam_bench.cli import main
from glam_bench.runtime.config import RunConfig
from glam_bench.tools.status import collect_status


def make_run(folder, frames_logged, durations, done=False):
    config = RunConfig(experiment="mixed", agent="gflan", seed=1, env="BabyAI-Text-MixedTrainLocal-v0",
                       num_envs=4, frames_per_env=10, total_frames=400)
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"config": config.to_dict()}))
    rows = ["update,frames,duration"] + [f"{i + 1},{f},{d}" for i, (f, d) in
                                         enumerate(zip(frames_logged, durations))]
    (folder / "train_log.csv").write_text("\n".join(rows) + "\n")
    if done:
        (folder / "done.json").write_text(json.dumps({"frames": frames_logged[-1]}))


def test_status_reports_progress_rate_and_eta(tmp_path, capsys):
    make_run(tmp_path / "runs/mixed/gflan/seed-1", [40, 80, 120], [10.0, 20.0, 30.0])
    make_run(tmp_path / "runs/mixed/gflan/seed-2", [200, 400], [5.0, 10.0], done=True)
    running, finished = collect_status(tmp_path)
    assert (running.frames, running.total_frames) == (120, 400)
    assert running.frames_per_s == pytest.approx(4.0)
    assert running.eta_s == pytest.approx(70.0)  # 280 frames left at 4 frames/s
    assert finished.done and finished.eta_s == 0.0
    assert main(["status", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "runs/mixed/gflan/seed-1" in out and "30.0%" in out and "0h01m" in out


def test_status_names_a_missing_folder(tmp_path, capsys):
    assert main(["status", "--results", str(tmp_path / "nope")]) == 2
    assert "not found" in capsys.readouterr().err


def test_tensorboard_mirrors_the_train_log_rows(tmp_path):
    """Every numeric train_log.csv column becomes a scalar at step ``frames``; NaNs are skipped."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from glam_bench.runtime.tensorboard_log import TensorBoardRows

    board = TensorBoardRows(tmp_path)
    board.add({"experiment": "mixed", "frames": 128, "success_rate": 0.25, "return_mean": float("nan")})
    board.add({"experiment": "mixed", "frames": 256, "success_rate": 0.5, "return_mean": 0.1})
    board.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    success = [(e.step, e.value) for e in events.Scalars("train/success_rate")]
    assert success == [(128, 0.25), (256, 0.5)]
    assert [e.step for e in events.Scalars("train/return_mean")] == [256]
    assert "train/experiment" not in events.Tags()["scalars"]


def _hold_lock(run_dir):
    """A live process holding the run's lock, as a training does."""
    import subprocess
    import sys

    code = ("import sys, time\nfrom glam_bench.runtime.runlock import run_lock\n"
            "with run_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(run_dir)], stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_run_whose_lock_holder_is_gone_shows_as_stopped(tmp_path, capsys):
    """A killed training leaves its files (and its lock file, naming it) but no holder."""
    run = tmp_path / "runs/mixed/gflan/seed-1"
    make_run(run, [40, 80], [10.0, 20.0])
    child = _hold_lock(run)
    try:
        assert [s.state for s in collect_status(tmp_path)] == ["running"]
    finally:
        child.kill()
        child.wait()
    assert str(child.pid) in (run / ".lock").read_text()  # the file still names the dead holder
    (status,) = collect_status(tmp_path)
    assert status.state == "stopped" and not status.done
    assert main(["status", "--results", str(tmp_path)]) == 0
    assert "stopped" in capsys.readouterr().out
    make_run(tmp_path / "runs/mixed/gflan/seed-2", [200, 400], [5.0, 10.0], done=True)
    assert [s.state for s in collect_status(tmp_path)] == ["stopped", "done"]


def test_a_status_probe_does_not_refuse_a_training_starting_meanwhile(tmp_path):
    import fcntl
    import threading

    from glam_bench.runtime.runlock import LOCK_NAME, run_lock

    tmp_path.joinpath(LOCK_NAME).touch()
    with open(tmp_path / LOCK_NAME) as probe:
        fcntl.flock(probe, fcntl.LOCK_SH)  # a probe that takes longer than any real one
        threading.Timer(0.1, fcntl.flock, (probe, fcntl.LOCK_UN)).start()
        with run_lock(tmp_path):
            pass
