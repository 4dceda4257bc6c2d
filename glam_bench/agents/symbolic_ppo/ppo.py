"""BabyAI's recurrent PPO update for the Symbolic-PPO baseline (§B.6).

The rollout is [T = frames_per_env, N = num_envs]. It is flattened env by env
(index = env * T + t) so each env's frames stay contiguous, then cut into
sub-sequences of ``recurrence`` frames. Each optimizer step takes
``minibatch_size // recurrence`` random sub-sequences and replays them through the
model from the memory stored at their first frame, multiplying the memory by
the mask at every frame so it resets where an episode starts. The loss is the
average over the ``recurrence`` frames of

    policy_loss - entropy_coef * entropy + value_coef * value_loss

computed per recurrence step by the suite's one clipped PPO objective
(:func:`glam_bench.rl.ppo.ppo_losses`, §C): clipped policy ratio and clipped
value loss (both with clip_eps), returns R = V_old + A, no advantage
normalisation. Gradients are clipped to ``max_grad_norm``; the
logged norm is the one before clipping.

(BabyAI also writes the recomputed memories back into the rollout between
epochs, but only at frames that never start a sub-sequence, which no later
step reads, so it is omitted here.)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields

import torch

from glam_bench.agents.symbolic_ppo.config import SymbolicPPOConfig
from glam_bench.agents.symbolic_ppo.model import SymbolicACModel
from glam_bench.rl.gae import compute_gae
from glam_bench.rl.ppo import ppo_losses


@dataclass
class Rollout:
    """One update's worth of experience, every tensor time-major [T, N, ...].

    ``masks[t] = 1 - dones[t - 1]`` for t >= 1; ``masks[0]`` comes from the last
    step of the previous rollout (0 for fresh envs).
    """

    images: torch.Tensor  # [T, N, 7, 7, 3] raw symbolic codes
    missions: torch.Tensor  # [T, N, L] word ids, right-padded with 0
    actions: torch.Tensor  # [T, N] long
    log_probs: torch.Tensor  # [T, N] log pi_old(a_t | s_t)
    values: torch.Tensor  # [T, N] V_old(s_t)
    rewards: torch.Tensor  # [T, N] scaled rewards
    dones: torch.Tensor  # [T, N] 1 where the episode ended with step t
    masks: torch.Tensor  # [T, N] 0 where frame t starts a new episode (memory reset), else 1
    memories: torch.Tensor  # [T, N, 2 * memory_dim] memory fed at frame t, before masking
    last_value: torch.Tensor  # [N] V(s_T), the observation after the rollout


def make_optimizer(model: SymbolicACModel, config: SymbolicPPOConfig) -> torch.optim.Adam:
    """Adam with BabyAI's settings (§B.6)."""
    return torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.adam_betas, eps=config.adam_eps)


def _flatten_env_major(rollout: Rollout, advantages: torch.Tensor) -> dict[str, torch.Tensor]:
    """[T, N, ...] -> [N * T, ...] with each env's frames contiguous."""
    flat = {}
    for f in fields(Rollout):
        if f.name != "last_value":
            x = getattr(rollout, f.name)
            flat[f.name] = x.transpose(0, 1).reshape(-1, *x.shape[2:])
    flat["advantages"] = advantages.transpose(0, 1).reshape(-1)
    return flat


def _sequence_loss(
    model: SymbolicACModel, exps: dict[str, torch.Tensor], starts: torch.Tensor, cfg: SymbolicPPOConfig
) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss averaged over the ``recurrence`` frames of the sub-sequences at ``starts``."""
    memory = exps["memories"][starts]
    total: torch.Tensor | float = 0.0
    stats: dict[str, float] = defaultdict(float)
    for i in range(cfg.recurrence):
        idx = starts + i
        memory = memory * exps["masks"][idx].unsqueeze(1)
        dist, value, memory = model(exps["images"][idx], exps["missions"][idx], memory)
        step = ppo_losses(
            dist.logits, value, exps["actions"][idx], exps["log_probs"][idx], exps["values"][idx],
            exps["advantages"][idx], cfg.clip_eps, cfg.entropy_coef, cfg.value_coef,
        )
        total = total + step.loss
        for name, x in (("entropy", step.entropy), ("value", value.mean()),
                        ("policy_loss", step.policy_loss), ("value_loss", step.value_loss),
                        ("loss", step.loss)):
            stats[name] += x.item() / cfg.recurrence
    return total / cfg.recurrence, stats


def ppo_update(
    model: SymbolicACModel,
    optimizer: torch.optim.Optimizer,
    rollout: Rollout,
    config: SymbolicPPOConfig = SymbolicPPOConfig(),
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """``config.epochs`` epochs of recurrent PPO on one rollout; mean logs over all steps.

    ``generator`` drives the sub-sequence shuffling (pass a saved one to resume exactly).
    """
    cfg = config
    T, N = rollout.rewards.shape
    if T % cfg.recurrence:
        raise ValueError(f"frames per env ({T}) must be a multiple of recurrence ({cfg.recurrence})")
    advantages = compute_gae(
        rollout.rewards, rollout.values, rollout.dones, rollout.last_value, cfg.gamma, cfg.gae_lambda
    )
    exps = _flatten_env_major(rollout, advantages)
    starts = torch.arange(0, T * N, cfg.recurrence, device=rollout.rewards.device)
    sequences_per_minibatch = max(1, cfg.minibatch_size // cfg.recurrence)

    model.train()
    logs: dict[str, list[float]] = defaultdict(list)
    for _ in range(cfg.epochs):
        order = torch.randperm(len(starts), generator=generator).to(starts.device)
        for batch_starts in starts[order].split(sequences_per_minibatch):
            loss, stats = _sequence_loss(model, exps, batch_starts, cfg)
            optimizer.zero_grad()
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            for name, value in stats.items():
                logs[name].append(value)
            logs["grad_norm"].append(float(grad_norm))
    return {name: sum(v) / len(v) for name, v in logs.items()}
