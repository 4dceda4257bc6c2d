"""Process-wide state changes only where it is decided: ``configure_process`` and a resume.

Building a learner or loading a checkpoint must leave the process as it was
(the flush-denormal mode, the global RNGs); ``glam-bench train`` sets what a
run needs once (:func:`glam_bench.runtime.process.configure_process`), and only a
training resume continues the global RNGs a checkpoint carries.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
import torch

from glam_bench.agents.drrn.tokenizer import ensure_tokenizer
from glam_bench.agents.families import build_learner, flushes_denormals
from glam_bench.runtime.config import RunConfig
from glam_bench.runtime.process import configure_process
from glam_bench.runtime.runs import RunPaths, load_checkpoint, save_checkpoint, seed_everything
from glam_bench.runtime.training import Learner, UpdateResult, train

LOSSES = ("entropy", "policy_loss", "value_loss", "grad_norm")


def flushes_denormals_now() -> bool:
    """Whether CPU arithmetic currently flushes denormal floats to zero (torch has no getter)."""
    denormal = torch.tensor([1e-40], dtype=torch.float32)
    return bool((denormal * 1.0).item() == 0.0)


@pytest.fixture
def restore_process():
    """Leave the process as torch starts it, whatever the test changed."""
    yield
    configure_process()


def global_rng_states() -> tuple:
    return random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state().tolist()


def test_configure_process_flushes_denormals_only_for_families_that_declare_it(restore_process):
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush denormals")
    assert flushes_denormals("drrn") and not flushes_denormals("symbolic-ppo")
    assert not flushes_denormals("gflan") and not flushes_denormals("bc-bot")
    configure_process(flush_denormal=flushes_denormals("drrn"))
    assert flushes_denormals_now()
    configure_process(flush_denormal=flushes_denormals("symbolic-ppo"))
    assert not flushes_denormals_now()


def test_building_a_drrn_learner_leaves_the_flush_denormal_mode_alone(tmp_path, restore_process):
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush denormals")
    ensure_tokenizer(tmp_path)
    config = RunConfig(experiment="process", agent="drrn", seed=1, env="BabyAI-Text-GoToRedBall-v0",
                       num_envs=2, frames_per_env=4, total_frames=8, device="cpu",
                       models_dir=str(tmp_path),
                       drrn={"batch_size": 4, "memory_capacity": 8, "embedding_dim": 8, "hidden_dim": 8})
    configure_process(flush_denormal=False)
    learner = build_learner(config)
    learner.close()
    assert not flushes_denormals_now()


def test_loading_a_checkpoint_leaves_the_global_rngs_alone(tmp_path):
    path = tmp_path / "checkpoint.pt"
    seed_everything(1)
    save_checkpoint(path, {"learner": {}})  # carries the RNG states of seed 1
    seed_everything(2)
    before = global_rng_states()
    payload = load_checkpoint(path)
    assert payload is not None and "rng" in payload
    assert global_rng_states() == before


class GlobalRngLearner(Learner):
    """Draws its loss from the global torch RNG: a resumed run matches only if train() restores it."""

    def __init__(self) -> None:
        self.done = 0

    def update(self) -> UpdateResult:
        self.done += 1
        return UpdateResult(frames=1, episodes=[],
                            losses={"loss": float(torch.rand(())), **{k: 0.0 for k in LOSSES}})

    def state_dict(self) -> dict:
        return {"done": self.done}

    def load_state_dict(self, state: dict) -> None:
        self.done = state["done"]


def test_a_resumed_training_continues_the_global_rngs_of_its_checkpoint(tmp_path):
    config = RunConfig(experiment="process", agent="gflan", seed=1, env="BabyAI-Text-GoToRedBall-v0",
                       num_envs=1, frames_per_env=1, total_frames=4)

    def paths(name: str) -> RunPaths:
        return RunPaths.for_run(tmp_path / name, tmp_path / name / "work", "process", "gflan", 1)

    seed_everything(1)
    train(config, paths("straight"), GlobalRngLearner(), progress=False)
    seed_everything(1)
    train(config, paths("resumed"), GlobalRngLearner(), progress=False, stop_after=2)
    seed_everything(3)  # a new process: its RNGs are anywhere
    train(config, paths("resumed"), GlobalRngLearner(), progress=False)
    straight = pd.read_csv(paths("straight").train_log)["loss"]
    resumed = pd.read_csv(paths("resumed").train_log)["loss"]
    assert len(straight) == 4 and straight.tolist() == resumed.tolist()


def test_configure_process_makes_cudnn_deterministic_unless_told_otherwise(restore_process):
    """A GPU run repeats itself: cuDNN's deterministic kernels, no autotuning (issue 14)."""
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = False, True
    configure_process()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    configure_process(deterministic=False)
    assert not torch.backends.cudnn.deterministic and torch.backends.cudnn.benchmark
