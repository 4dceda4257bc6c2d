"""The one-step task where the goal names the action, and PPO on it (LoRA test, pretraining benchmark).

Each prompt is the §B.1 prompt whose goal is one of the six canonical actions
("Goal of the agent: go forward"); the reward is 1 for taking that action, 0
otherwise, and the episode ends. A language model that can copy a word from
its prompt solves it zero-shot; one that cannot must learn the six mappings.

Success is measured without sampling noise: the mean, over the six goals, of
the policy's probability of the goal's action (the success rate an infinite
number of sampled episodes would give).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from glam_bench.agents.llm_ppo import RolloutBatch, ppo_update, sample_actions
from glam_bench.runtime.config import PPOConfig
from glam_bench.llm.heads import LLMPolicy
from glam_bench.paper.prompts import build_prompt
from glam_bench.paper.vocabulary import ACTIONS

CANDIDATES = list(ACTIONS)


def one_step_prompts(goals: list[int]) -> list[str]:
    """The §B.1 prompt of each goal (an action index), one wall-sighting observation."""
    return [build_prompt(ACTIONS[k], [["You see a wall 2 steps forward"]], [], ACTIONS) for k in goals]


def success_of(logits: torch.Tensor) -> float:
    """Expected success from the policy logits of the six goal prompts (in goal order)."""
    return float(torch.softmax(logits.float(), -1).diagonal().mean())


@torch.no_grad()
def expected_success(policy: LLMPolicy) -> float:
    """Mean over the six goals of the policy's probability of the goal's action."""
    goals = list(range(len(CANDIDATES)))
    return success_of(policy(one_step_prompts(goals), [CANDIDATES] * len(goals)).logits)


@dataclass
class OneStepRun:
    """Expected success before each update and after the last one, and seconds per update."""

    success: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def updates_to(self, threshold: float) -> int | None:
        """Updates until expected success first reached ``threshold`` (None: never in the budget)."""
        return next((i for i, s in enumerate(self.success) if s >= threshold), None)


def train_one_step(policy: LLMPolicy, updates: int, ppo: PPOConfig, episodes_per_goal: int = 1,
                   seed: int = 0) -> OneStepRun:
    """PPO on the one-step task: each update plays ``episodes_per_goal`` episodes of every goal.

    The six goal prompts are scored once per update; those logits give both the
    expected success before the update and the sampled actions (the prompts of
    one goal are identical, so scoring them once is exact). Advantages are
    ``reward - value`` (one-step episodes: GAE reduces to that). The optimizer
    sees the trainable parameters only (with an adapter the frozen base is left out).
    """
    trainable = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=ppo.lr, betas=ppo.adam_betas, eps=ppo.adam_eps)
    actions_rng, minibatches = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    distinct = list(range(len(CANDIDATES)))
    goals = torch.tensor(distinct * episodes_per_goal)
    prompts, device = one_step_prompts(distinct), next(policy.parameters()).device
    run = OneStepRun()
    for _ in range(updates):
        began = time.perf_counter()
        with torch.no_grad():
            output = policy(prompts, [CANDIDATES] * len(prompts))
        run.success.append(success_of(output.logits))
        logits, values = output.logits.float().cpu()[goals], output.values.float().cpu()[goals]
        actions = sample_actions(logits, actions_rng)
        logprobs = torch.distributions.Categorical(logits=logits).log_prob(actions)
        rewards = (actions == goals).float()
        batch = RolloutBatch([prompts[g] for g in goals.tolist()], actions, logprobs, values,
                             rewards - values)
        ppo_update(policy, optimizer, batch, CANDIDATES, ppo, minibatches, device)
        run.seconds.append(time.perf_counter() - began)
    run.success.append(expected_success(policy))
    return run
