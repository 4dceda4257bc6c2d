"""DRRN hyperparameters of the paper (§B.5, §C), one frozen record.

Defaults are the paper's values; override any field with ``dataclasses.replace``.
Loop-level fields (envs, steps per update, frames) are read by the training
loop, not by the learner, but live here so one record describes a run.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    number_envs: int = 32
    steps_per_update: int = 4
    gradient_steps_per_update: int = 1
    num_frames: int = 1_500_000
    # Prompt (§B.1): last 3 observations and 2 actions.
    nbr_obs: int = 3
    # §B.1: reproduce the authors' missing first observation after a reset (default: fixed).
    faithful_missing_first_obs: bool = False
