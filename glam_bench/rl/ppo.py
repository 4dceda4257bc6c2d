"""The clipped PPO objective shared by the PPO learners (§C, §B.6).

loss = policy_loss - entropy_coef * entropy + value_coef * value_loss, with
policy_loss = -mean(min(r A, clip(r, 1-eps, 1+eps) A)),
value_loss = mean(max((V - R)^2, (V_old + clip(V - V_old, -eps, eps) - R)^2)),
R = V_old + A and no advantage normalisation, as in the authors' code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.distributions import Categorical


@dataclass
class PPOLosses:
    loss: torch.Tensor
    policy_loss: torch.Tensor
    value_loss: torch.Tensor
    entropy: torch.Tensor


def ppo_losses(
    logits: torch.Tensor,
    values: torch.Tensor,
    actions: torch.Tensor,
    old_logprobs: torch.Tensor,
    old_values: torch.Tensor,
    advantages: torch.Tensor,
    clip_eps: float,
    entropy_coef: float,
    value_coef: float,
) -> PPOLosses:
    """PPO losses of one minibatch (means over its samples)."""
    dist = Categorical(logits=logits.float())
    entropy = dist.entropy().mean()
    ratio = torch.exp(dist.log_prob(actions) - old_logprobs)
    surrogate = torch.min(ratio * advantages,
                          torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages)
    policy_loss = -surrogate.mean()
    returns = old_values + advantages
    values = values.float()
    clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
    value_loss = torch.max((values - returns) ** 2, (clipped - returns) ** 2).mean()
    loss = policy_loss - entropy_coef * entropy + value_coef * value_loss
    return PPOLosses(loss, policy_loss, value_loss, entropy)
