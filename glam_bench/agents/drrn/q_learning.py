"""DRRN acting and Q-learning update (§B.5), after tdqn's ``DRRN_Agent``.

Acting samples an action from softmax(Q / temperature) (Boltzmann), in
training and at test alike. Learning is one-step Q-learning without a target
network: target = r + gamma * max_a' Q(s', a') * (1 - done), Huber loss,
Adam, gradient-norm clipping. The training loop owns the environments and the
replay memory; it calls :meth:`DRRNQLearning.act` and :meth:`DRRNQLearning.update`.

The class is named after the algorithm, not "Learner": in this suite a
``...Learner`` is what the shared training loop drives
(:class:`glam_bench.runtime.training.Learner`; for DRRN,
:class:`glam_bench.agents.drrn.learner.DRRNLearner`, which owns the envs and
the replay memory and calls this class). The evaluation agent acts through
this class too.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from glam_bench.agents.drrn.config import DRRNConfig
from glam_bench.agents.drrn.network import DRRN, split_q_values
from glam_bench.agents.drrn.replay import TransitionBatch

TokenIds = Sequence[int]


def td_targets(
    rewards: torch.Tensor, next_max_q: torch.Tensor, dones: torch.Tensor, gamma: float
) -> torch.Tensor:
    """r + gamma * max_a' Q(s', a') * (1 - done)  (§B.5)."""
    return rewards + gamma * next_max_q * (1.0 - dones)


def max_per_state(q_flat: torch.Tensor, counts: Sequence[int]) -> torch.Tensor:
    """Max Q over each state's candidates; a state without candidates gets 0."""
    return torch.stack([q.max() if q.numel() else q.new_zeros(()) for q in split_q_values(q_flat, counts)])


def boltzmann_sample(
    q_values: Sequence[torch.Tensor], temperature: float, generator: torch.Generator | None = None
) -> list[int]:
    """One candidate index per state, drawn from softmax(Q / temperature)."""
    width = max(len(q) for q in q_values)
    logits = torch.full((len(q_values), width), float("-inf"))
    for row, q in enumerate(q_values):
        logits[row, : len(q)] = q.detach().float().cpu() / temperature
    probs = torch.softmax(logits, dim=1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1).tolist()


class DRRNQLearning:
    """Owns the DRRN network and its optimizer; token ids in, Q-values and losses out."""

    def __init__(self, network: DRRN, config: DRRNConfig = DRRNConfig(), device: str | torch.device = "cpu"):
        self.config = config
        self.device = torch.device(device)
        self.network = network.to(self.device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.lr)

    @classmethod
    def from_config(cls, config: DRRNConfig, device: str | torch.device = "cpu") -> "DRRNQLearning":
        network = DRRN(config.vocab_size, config.embedding_dim, config.hidden_dim)
        return cls(network, config, device)

    def _q_flat(
        self, states: Sequence[TokenIds], candidates: Sequence[Sequence[TokenIds]]
    ) -> tuple[torch.Tensor, list[int]]:
        counts = [len(c) for c in candidates]
        q = self.network.score(states, [a for c in candidates for a in c], counts)
        return q, counts

    def q_values(
        self, states: Sequence[TokenIds], candidates: Sequence[Sequence[TokenIds]]
    ) -> list[torch.Tensor]:
        """Q(s, a) for every candidate of every state, one tensor per state."""
        q, counts = self._q_flat(states, candidates)
        return split_q_values(q, counts)

    @torch.no_grad()
    def act(
        self,
        states: Sequence[TokenIds],
        candidates: Sequence[Sequence[TokenIds]],
        generator: torch.Generator | None = None,
    ) -> list[int]:
        """Boltzmann-sampled candidate index per state (§B.5)."""
        return boltzmann_sample(self.q_values(states, candidates), self.config.temperature, generator)

    def update(self, batch: TransitionBatch) -> dict[str, float]:
        """One gradient step of Q-learning on a replay batch; returns loss and diagnostics."""
        cfg = self.config
        with torch.no_grad():
            next_q, counts = self._q_flat(batch.next_states, batch.next_actions)
            next_max = max_per_state(next_q, counts)
        rewards = torch.as_tensor(batch.rewards, device=self.device)
        dones = torch.as_tensor(batch.dones, device=self.device)
        targets = td_targets(rewards, next_max, dones, cfg.gamma)

        q, _ = self._q_flat(batch.states, [[a] for a in batch.actions])
        loss = F.smooth_l1_loss(q, targets)
        self.optimizer.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.network.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        return {
            "loss": loss.item(),
            "grad_norm": float(grad_norm),
            "q_mean": q.mean().item(),
            "target_mean": targets.mean().item(),
        }

    def state_dict(self) -> dict:
        return {"network": self.network.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
