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

from dataclasses import dataclass, field

import torch

from glam_bench.agents.llm_ppo import RolloutBatch, ppo_update, sample_actions
from glam_bench.config import PPOConfig
from glam_bench.llm.heads import LLMPolicy
from glam_bench.prompts import build_prompt
from glam_bench.vocabulary import ACTIONS

CANDIDATES = list(ACTIONS)


def one_step_prompts(goals: list[int]) -> list[str]:
    """The §B.1 prompt of each goal (an action index), one wall-sighting observation."""
    return [build_prompt(ACTIONS[k], [["You see a wall 2 steps forward"]], [], ACTIONS) for k in goals]


@torch.no_grad()
def expected_success(policy: LLMPolicy) -> float:
    """Mean over the six goals of the policy's probability of the goal's action."""
    goals = list(range(len(CANDIDATES)))
    logits = policy(one_step_prompts(goals), [CANDIDATES] * len(goals)).logits
    return float(torch.softmax(logits.float(), -1).diagonal().mean())


@dataclass
class OneStepRun:
    """Expected success before training (index 0) and after each update."""

    success: list[float] = field(default_factory=list)

    def updates_to(self, threshold: float) -> int | None:
        """Updates until expected success first reached ``threshold`` (None: never in the budget)."""
        return next((i for i, s in enumerate(self.success) if s >= threshold), None)


def train_one_step(policy: LLMPolicy, updates: int, ppo: PPOConfig, prompts_per_update: int,
                   seed: int = 0) -> OneStepRun:
    """PPO on the one-step task: each update samples goals, acts, and learns from rewards.

    Advantages are ``reward - value`` (one-step episodes: GAE reduces to that).
    The optimizer sees the trainable parameters only (the frozen base is left out).
    """
    trainable = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=ppo.lr, betas=ppo.adam_betas, eps=ppo.adam_eps)
    goals_rng, actions_rng = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    minibatches = torch.Generator().manual_seed(seed + 2)
    run = OneStepRun([expected_success(policy)])
    for _ in range(updates):
        goals = torch.randint(0, len(CANDIDATES), (prompts_per_update,), generator=goals_rng)
        prompts = one_step_prompts(goals.tolist())
        with torch.no_grad():
            output = policy(prompts, [CANDIDATES] * len(prompts))
        actions = sample_actions(output.logits, actions_rng)
        logprobs = torch.distributions.Categorical(logits=output.logits.float()).log_prob(actions)
        rewards = (actions == goals).float()
        batch = RolloutBatch(prompts, actions, logprobs, output.values.float(),
                             rewards - output.values.float())
        ppo_update(policy, optimizer, batch, CANDIDATES, ppo, minibatches, torch.device("cpu"))
        run.success.append(expected_success(policy))
    return run
