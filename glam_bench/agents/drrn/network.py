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

The learner scores through :meth:`DRRN.score`, which takes the token sequences
themselves and spends its GRU work only where it changes the result
(:func:`encode_sequences`): each distinct sequence is encoded once (the six
candidate actions repeat for every state), the prefix every sequence shares
(the prompt's header) is read once and its hidden state starts all the others,
and the rest is cut into length-sorted buckets padded to their own longest
sequence, not the batch's. Prompts run from ~150 to ~500 tokens, so one padded
batch spent about a third of its GRU steps on padding. Every sequence's
encoding is the same GRU recurrence as in :meth:`DRRN.forward`; only the
floating-point grouping of the matrix products differs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
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
        return self._q(states.repeat_interleave(counts, dim=0), actions)

    def _q(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.hidden(torch.cat([states, actions], dim=1)))
        return self.scorer(hidden).squeeze(1)

    def score(
        self,
        states: Sequence[Sequence[int]],
        actions: Sequence[Sequence[int]],
        actions_per_state: Sequence[int],
    ) -> torch.Tensor:
        """``forward`` on token sequences, through :func:`encode_sequences`: same Q-values.

        ``actions`` holds the candidates of state 0, then those of state 1, ...
        """
        counts = torch.as_tensor(actions_per_state, dtype=torch.long, device=self.scorer.weight.device)
        state_codes = encode_sequences(self.embedding, self.state_encoder, states)
        action_codes = encode_sequences(self.embedding, self.action_encoder, actions)
        return self._q(state_codes.repeat_interleave(counts, dim=0), action_codes)


#: Sequences per GRU call after length-sorting (measured: 32 beat 8, 16 and 64 for the update's
#: forward and backward of 64 prompts): small enough that a bucket's padding stays
#: short, large enough that each recurrent step's matrix product is not a per-call overhead.
BUCKET_SIZE = 32


def _as_int64(seq: Sequence[int]) -> np.ndarray:
    """Token ids as int64; an empty sequence reads as a single pad token (as ``DRRN._encode``)."""
    arr = np.asarray(seq, dtype=np.int64)
    return arr if arr.size else np.zeros(1, dtype=np.int64)


def shared_prefix_length(sequences: Sequence[np.ndarray]) -> int:
    """Tokens every sequence starts with, leaving each at least one token of its own."""
    shortest = min(len(s) for s in sequences)
    if len(sequences) < 2 or shortest < 2:
        return 0
    heads = np.stack([s[: shortest - 1] for s in sequences])
    differs = (heads != heads[0]).any(0)
    return int(differs.argmax()) if differs.any() else shortest - 1


def encode_sequences(
    embedding: nn.Embedding, gru: nn.GRU, sequences: Sequence[Sequence[int]],
    bucket_size: int = BUCKET_SIZE,
) -> torch.Tensor:
    """GRU hidden state after each sequence's last token, [N, H]; see the module docstring."""
    device = embedding.weight.device
    index: dict[bytes, int] = {}
    unique: list[np.ndarray] = []
    inverse = []
    for seq in sequences:
        arr = _as_int64(seq)
        key = arr.tobytes()
        if key not in index:
            index[key] = len(unique)
            unique.append(arr)
        inverse.append(index[key])
    prefix = shared_prefix_length(unique)
    hidden = None
    if prefix:
        head = torch.as_tensor(unique[0][None, :prefix], device=device)
        _, hidden = gru(embedding(head))  # [1, 1, H]
        unique = [u[prefix:] for u in unique]
    order = sorted(range(len(unique)), key=lambda i: len(unique[i]), reverse=True)
    encoded = []
    for start in range(0, len(order), bucket_size):
        rows = order[start : start + bucket_size]
        ids, lengths = pad_token_ids([unique[i] for i in rows], device=device)
        h0 = None if hidden is None else hidden.expand(-1, len(rows), -1).contiguous()
        outputs, _ = gru(embedding(ids), h0)
        encoded.append(outputs[torch.arange(len(rows), device=device), lengths - 1])
    position = torch.empty(len(order), dtype=torch.long)
    position[torch.as_tensor(order)] = torch.arange(len(order))
    return torch.cat(encoded)[(position[torch.as_tensor(inverse)]).to(device)]


def split_q_values(q_flat: torch.Tensor, actions_per_state: Sequence[int]) -> list[torch.Tensor]:
    """Cut the flat Q-vector of ``DRRN.forward`` back into one tensor per state."""
    return list(torch.split(q_flat, list(actions_per_state)))
