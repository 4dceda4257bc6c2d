"""run.json records every segment of a run: where, on what and from which weights (issue 22
item 10)."""

from __future__ import annotations

import hashlib
import json
import os
import socket

import torch

from glam_bench.llm.loading import model_weights_record, weights_record
from glam_bench.runtime.config import RunConfig
from glam_bench.runtime.runs import RunPaths
from glam_bench.runtime.training import Learner, UpdateResult, train
from tests.llm_fixtures import tiny_models_dir  # noqa: F401  (fixture)

LOSSES = ("entropy", "policy_loss", "value_loss", "loss", "grad_norm")
COMMIT = "7d5d4fe2ab1a6dbb0ae4bb4e3ab1bb9e4b17bbc9"


class WeightedLearner(Learner):
    """Loads 'weights' whose record it reports, as the LLM learners do."""

    model_name = "w"
    record = {"revision": COMMIT, "sha256": {"model.safetensors": "ab" * 32}}

    def __init__(self) -> None:
        self.done = 0

    def update(self) -> UpdateResult:
        self.done += 1
        return UpdateResult(frames=1, episodes=[], losses={k: 0.0 for k in LOSSES})

    def state_dict(self) -> dict:
        return {"done": self.done}

    def load_state_dict(self, state: dict) -> None:
        self.done = state["done"]

    def weights(self) -> dict:
        return self.record


def test_each_start_and_resume_adds_a_segment_record(tmp_path, monkeypatch):
    config = RunConfig(experiment="prov", agent="gflan", seed=1, env="BabyAI-Text-GoToRedBall-v0",
                       num_envs=1, frames_per_env=1, total_frames=4, device="auto")
    paths = RunPaths.for_run(tmp_path / "r", tmp_path / "w", "prov", "gflan", 1)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("SLURM_JOB_GPUS", raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    train(config, paths, WeightedLearner(), progress=False, stop_after=2)
    monkeypatch.setenv("SLURM_JOB_ID", "4243")  # the resubmitted job
    train(config, paths, WeightedLearner(), progress=False)
    first, resumed = json.loads(paths.run_json.read_text())["segments"]
    assert (first["start_update"], resumed["start_update"]) == (0, 2)
    assert (first["slurm_job_id"], resumed["slurm_job_id"]) == ("4242", "4243")
    for segment in (first, resumed):
        assert segment["device"] == "cpu"  # "auto" resolved, as the learner ran
        assert segment["gpu"] is None and segment["world_size"] == 1
        assert segment["data_parallel"] is None  # one process: no engine
        assert segment["host"] == socket.gethostname() and segment["torch"] == torch.__version__
        assert "cuda" in segment and "nccl" in segment
        assert segment["weights"] == WeightedLearner.record


def test_the_weights_record_reads_hf_download_metadata_without_hashing(tmp_path):
    folder = tmp_path / "flan-t5-large"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"not the real weights")
    download = folder / ".cache" / "huggingface" / "download"
    download.mkdir(parents=True)
    (download / "model.safetensors.metadata").write_text(f"{COMMIT}\n{'cd' * 32}\n1712345678.0\n")
    record = weights_record(folder)
    assert record["revision"] == COMMIT
    assert record["sha256"] == {"model.safetensors": "cd" * 32}  # the Hub's LFS sha256, as recorded


def test_the_weights_record_of_a_hub_cache_snapshot(tmp_path):
    blob = tmp_path / "blobs" / ("ef" * 32)
    blob.parent.mkdir()
    blob.write_bytes(b"weights")
    snapshot = tmp_path / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    os.symlink(os.path.relpath(blob, snapshot), snapshot / "model.safetensors")
    assert weights_record(snapshot) == {"folder": str(snapshot), "revision": COMMIT,
                                        "sha256": {"model.safetensors": "ef" * 32}}


def test_a_built_in_model_is_hashed(tiny_models_dir):
    record = model_weights_record("tiny-t5", tiny_models_dir)
    weights = tiny_models_dir / "tiny-t5" / "model.safetensors"
    assert record["sha256"] == {"model.safetensors": hashlib.sha256(weights.read_bytes()).hexdigest()}
    assert record["revision"].startswith("built-in")


def test_the_readme_fetches_each_hub_model_pinned_and_safetensors_only():
    """The README's lines are the registry's fetch commands: one revision, one file set."""
    import re
    from pathlib import Path

    from glam_bench.llm.registry import MODELS, fetch_command

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    lines = re.findall(r"^hf download .*$", readme, flags=re.MULTILINE)
    assert len(lines) == 3
    for line in lines:
        name = line.split()[2]
        assert MODELS[name].revision and f"--revision {MODELS[name].revision}" in line
        assert line == fetch_command(name, "work/models")
        includes = re.findall(r"--include '([^']+)'", line)
        assert "*.safetensors" in includes and not any(p in ("*", "*.bin", "*.h5", "*.msgpack")
                                                       for p in includes)
