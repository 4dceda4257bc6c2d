"""Generalised Advantage Estimation, shared by every PPO learner (§B.6, §C).

Time-major: tensors are [T, ...] where T indexes the steps of a rollout.
``dones[t]`` is 1 when the episode ended with step t; the value of the state
after that step is then not bootstrapped. As in the authors' code (and
BabyAI's), a time-out counts as an ending too. The returns used as value
targets are ``values + advantages`` (§C: R = V_old + A).
"""

from __future__ import annotations

import torch


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    last_value: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Advantages [T, ...]: A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}.

    delta_t = r_t + gamma * (1 - done_t) * V_{t+1} - V_t, with V_T = ``last_value``
    (the value of the observation that follows the rollout).
    """
    not_done = 1.0 - dones.to(rewards.dtype)
    advantages = torch.zeros_like(rewards)
    next_advantage = torch.zeros_like(last_value, dtype=rewards.dtype)
    next_value = last_value.to(rewards.dtype)
    for t in reversed(range(rewards.shape[0])):
        delta = rewards[t] + gamma * next_value * not_done[t] - values[t]
        next_advantage = delta + gamma * lam * not_done[t] * next_advantage
        advantages[t] = next_advantage
        next_value = values[t]
    return advantages
