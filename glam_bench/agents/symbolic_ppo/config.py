"""Symbolic-PPO hyperparameters of the paper (§B.6), one frozen record.

Defaults are the values of the authors' script plus BabyAI's ``arguments.py``
defaults; override any field with ``dataclasses.replace``. Loop-level fields
(num_envs, frames_per_env, total_frames) are read by the training loop, not by
the PPO update. Every field shared with the LLM agents carries the run
config's name (``glam_bench.runtime.config.RunConfig`` and ``PPOConfig``); BabyAI's own
name is given beside it where it differs.

A suite run builds this record with :func:`from_run_config`: the learner-level
fields come from the preset's ``symbolic_ppo`` block (keys declared under
``$defs/symbolic_ppo`` in ``preset_schema.yaml``), the loop-level ones
from the run config (num_envs, frames_per_env, total_frames, reward_scale),
and ``n_actions`` from its action space (§E.5), so the shared training loop
and the learner agree on them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from glam_bench.runtime.config import ConfigError, RunConfig
from glam_bench.paper.vocabulary import ACTION_SPACES


@dataclass(frozen=True)
class SymbolicPPOConfig:
    # Model (§B.6): arch expert_filmcnn, every width 128, memory = (h, c) = 256.
    n_actions: int = 6
    image_dim: int = 128
    memory_dim: int = 128
    instr_dim: int = 128
    max_vocab: int = 100  # Embedding(100, 128) for mission words
    # PPO (§B.6).
    recurrence: int = 20
    lr: float = 1e-4
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-5
    minibatch_size: int = 1280  # frames per optimizer step; BabyAI's --batch-size
    epochs: int = 4
    clip_eps: float = 0.2
    entropy_coef: float = 0.01
    value_coef: float = 0.5  # BabyAI's --value-loss-coef
    max_grad_norm: float = 0.5
    gamma: float = 0.99  # BabyAI's --discount
    gae_lambda: float = 0.99
    # Loop (§B.6): 64 envs x 40 frames = 2560 frames per update (BabyAI's --procs, --frames-per-proc).
    num_envs: int = 64
    frames_per_env: int = 40
    reward_scale: float = 20.0
    total_frames: int = 400_000  # hard-coded in the authors' script; see §H.3


#: Fields set from the run config itself, never from the preset's ``symbolic_ppo`` block.
LOOP_FIELDS = ("n_actions", "num_envs", "frames_per_env", "reward_scale", "total_frames")


def from_run_config(run: RunConfig) -> SymbolicPPOConfig:
    """Paper defaults, overridden by ``run.symbolic_ppo``, with the loop fields of ``run`` (§B.6)."""
    overrides = dict(run.symbolic_ppo)
    allowed = sorted(f.name for f in dataclasses.fields(SymbolicPPOConfig) if f.name not in LOOP_FIELDS)
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown symbolic_ppo settings {unknown}; allowed: {allowed} (loop-level "
                          f"settings {list(LOOP_FIELDS)} come from the training block)")
    if "adam_betas" in overrides:
        overrides["adam_betas"] = tuple(overrides["adam_betas"])
    config = dataclasses.replace(
        SymbolicPPOConfig(), **overrides, n_actions=len(ACTION_SPACES[run.action_space]),
        num_envs=run.num_envs, frames_per_env=run.frames_per_env, reward_scale=run.reward_scale,
        total_frames=run.total_frames,
    )
    if config.frames_per_env % config.recurrence:
        raise ConfigError(f"symbolic-ppo needs frames_per_env ({config.frames_per_env}) to be a "
                          f"multiple of recurrence ({config.recurrence})")
    return config
