"""Symbolic-PPO hyperparameters of the paper (§B.6), one frozen record.

Defaults are the values of the authors' script plus BabyAI's ``arguments.py``
defaults; override any field with ``dataclasses.replace``. Loop-level fields
(procs, frames) are read by the training loop, not by the PPO update.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    batch_size: int = 1280
    epochs: int = 4
    clip_eps: float = 0.2
    entropy_coef: float = 0.01
    value_loss_coef: float = 0.5
    max_grad_norm: float = 0.5
    discount: float = 0.99
    gae_lambda: float = 0.99
    # Loop (§B.6): 64 procs x 40 frames = 2560 frames per update.
    procs: int = 64
    frames_per_proc: int = 40
    reward_scale: float = 20.0
    frames: int = 400_000  # hard-coded in the authors' script; see §H.3
