"""The DRRN Q-network of §B.5: one GRU reads the prompt, another reads an action.

Q(s, a) = MLP([GRU_s(emb(s)); GRU_a(emb(a))]). The embedding is shared by
state and actions. With the paper's 8000-token vocabulary this has
1,255,169 parameters (§B.5).

Batching: B states, each with its own number of candidate actions. Each state
is encoded once and repeated over its candidates; all candidate actions of the
batch go through the action GRU in one call.

Right-padded sequences run through the GRU unpacked and each sequence's
encoding is read at its last real token. The GRU is causal, so that output is
exactly the last hidden state that packing (tdqn) gives, and on the CPU the
backward pass is much faster: PyTorch's backward through packed sequences
runs step by step with a changing batch size (measured here about 20x slower
for 64 prompts of ~300 tokens).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


def pad_token_ids(
    sequences: Sequence[Sequence[int]], pad_id: int = 0, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token-id sequences into (ids [N, L], lengths [N])."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    width = max(1, int(lengths.max())) if len(sequences) else 1
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    for row, seq in enumerate(sequences):
        if len(seq):
            ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return ids.to(device), lengths.to(device)


class DRRN(nn.Module):
    """Deep Reinforcement Relevance Network with a single state encoder (§B.5)."""

    def __init__(self, vocab_size: int, embedding_dim: int = 128, hidden_dim: int = 128):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.state_encoder = nn.GRU(embedding_dim, hidden_dim, batch_first=True)
        self.action_encoder = nn.GRU(embedding_dim, hidden_dim, batch_first=True)
        self.hidden = nn.Linear(2 * hidden_dim, hidden_dim)
        self.scorer = nn.Linear(hidden_dim, 1)

    def _encode(self, gru: nn.GRU, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Hidden state of each sequence after its last real token (right padding ignored)."""
        # An empty sequence is read as a single pad token.
        last = lengths.clamp(min=1).to(ids.device) - 1
        outputs, _ = gru(self.embedding(ids))  # [N, L, H]
        return outputs[torch.arange(len(last), device=ids.device), last]

    def forward(
        self,
        state_ids: torch.Tensor,
        state_lengths: torch.Tensor,
        action_ids: torch.Tensor,
        action_lengths: torch.Tensor,
        actions_per_state: torch.Tensor | Sequence[int],
    ) -> torch.Tensor:
        """Flat Q-values [sum(actions_per_state)], candidates grouped state by state.

        ``action_ids`` holds the candidates of state 0, then those of state 1, ...
        """
        counts = torch.as_tensor(actions_per_state, dtype=torch.long, device=state_ids.device)
        states = self._encode(self.state_encoder, state_ids, state_lengths)
        actions = self._encode(self.action_encoder, action_ids, action_lengths)
        states = states.repeat_interleave(counts, dim=0)
        hidden = torch.relu(self.hidden(torch.cat([states, actions], dim=1)))
        return self.scorer(hidden).squeeze(1)


def split_q_values(q_flat: torch.Tensor, actions_per_state: Sequence[int]) -> list[torch.Tensor]:
    """Cut the flat Q-vector of ``DRRN.forward`` back into one tensor per state."""
    return list(torch.split(q_flat, list(actions_per_state)))
