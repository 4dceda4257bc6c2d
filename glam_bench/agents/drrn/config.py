"""DRRN hyperparameters of the paper (§B.5, §C), one frozen record.

Defaults are the paper's values; override any field with ``dataclasses.replace``.
Loop-level fields (num_envs, frames_per_env, total_frames) are read by the
training loop, not by the Q-learning update, but live here so one record
describes a run; they carry the run config's names (``glam_bench.runtime.config``).

A suite run builds this record with :func:`from_run_config`: the learner-level
fields come from the preset's ``drrn`` block (keys declared under
``$defs/drrn`` in ``preset_schema.yaml``), the loop-level ones from the
run config itself, so the shared training loop and the learner agree on them.
In particular the paper's 4 steps per update (§B.5) is the run's
``frames_per_env``: presets set ``frames_per_env: 4`` for ``drrn``, which makes
the loop's frame count per update 4 x num_envs = 128 with 32 envs.
``gradient_steps_per_update`` (1) is the number of Q-learning steps after them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from glam_bench.runtime.config import ConfigError, RunConfig


@dataclass(frozen=True)
class DRRNConfig:
    # Network (§B.5). 8000 is the authors' SentencePiece size; our locally
    # trained tokenizer supports fewer pieces, so runs pass tokenizer.vocab_size.
    vocab_size: int = 8000
    embedding_dim: int = 128
    hidden_dim: int = 128
    # Q-learning (§B.5).
    gamma: float = 0.9
    lr: float = 1e-4
    max_grad_norm: float = 5.0
    batch_size: int = 64
    memory_capacity: int = 5_000_000
    memory_seed: int = 20210824
    # Acting: Boltzmann over softmax(Q / temperature), in training and at test (§B.5).
    temperature: float = 1.0
    # Loop (§B.5, §A.4): 32 envs x 4 steps = 128 transitions, then 1 gradient step.
    reward_scale: float = 20.0
    num_envs: int = 32
    frames_per_env: int = 4  # the paper's "4 steps per update"
    gradient_steps_per_update: int = 1
    total_frames: int = 1_500_000
    # Prompt (§B.1): last 3 observations and 2 actions.
    nbr_obs: int = 3
    # §B.1: reproduce the authors' missing first observation after a reset (default: fixed).
    faithful_missing_first_obs: bool = False


#: Fields set from the run config itself, never from the preset's ``drrn`` block.
LOOP_FIELDS = ("num_envs", "frames_per_env", "total_frames", "reward_scale", "nbr_obs")


def from_run_config(run: RunConfig) -> DRRNConfig:
    """Paper defaults, overridden by ``run.drrn``, with the loop fields of ``run`` (§B.5)."""
    overrides = dict(run.drrn)
    allowed = sorted(f.name for f in dataclasses.fields(DRRNConfig) if f.name not in LOOP_FIELDS)
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown drrn settings {unknown}; allowed: {allowed} (loop-level "
                          f"settings {list(LOOP_FIELDS)} come from the training block)")
    return dataclasses.replace(
        DRRNConfig(), **overrides, num_envs=run.num_envs, frames_per_env=run.frames_per_env,
        total_frames=run.total_frames, reward_scale=run.reward_scale, nbr_obs=run.nbr_obs,
    )
