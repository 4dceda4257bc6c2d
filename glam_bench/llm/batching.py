"""Token lists to model-ready tensors: memoised tokenisation, padding, packed candidate segments.

Helpers of :mod:`glam_bench.llm.scoring`, kept apart so the scorer reads as
the model passes it makes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch


class TokenCache:
    """Memoised tokenisation without special tokens: action strings repeat every step, prompts every PPO epoch.

    Least recently used texts are dropped beyond ``max_entries``; 4096 covers
    the 1280 prompts of one PPO update (§C) with room to spare.
    """

    def __init__(self, tokenizer, max_entries: int = 4096) -> None:
        self.tokenizer = tokenizer
        self.max_entries = max_entries
        self._ids: OrderedDict[str, tuple[int, ...]] = OrderedDict()

    def __call__(self, texts: Sequence[str]) -> list[tuple[int, ...]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._ids))
        if missing:
            encoded = self.tokenizer(missing, add_special_tokens=False)["input_ids"]
            self._ids.update(zip(missing, map(tuple, encoded)))
        result = []
        for text in texts:
            self._ids.move_to_end(text)
            result.append(self._ids[text])
        while len(self._ids) > self.max_entries:
            self._ids.popitem(last=False)
        return result


def pad_right(
    sequences: Sequence[Sequence[int]], pad_id: int, min_length: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, mask)`` of right-padded sequences."""
    width = max([min_length, *map(len, sequences)])
    ids = [list(s) + [pad_id] * (width - len(s)) for s in sequences]
    mask = [[1] * len(s) + [0] * (width - len(s)) for s in sequences]
    return torch.tensor(ids, dtype=torch.long), torch.tensor(mask, dtype=torch.long)


def pad_left(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, mask)`` of left-padded sequences (causal prompts then end at the same column)."""
    width = max(map(len, sequences))
    ids = [[pad_id] * (width - len(s)) + list(s) for s in sequences]
    mask = [[0] * (width - len(s)) + [1] * len(s) for s in sequences]
    return torch.tensor(ids, dtype=torch.long), torch.tensor(mask, dtype=torch.long)


def length_sorted_chunks(lengths: Sequence[int], chunk_size: int | None) -> list[list[int]]:
    """Indices grouped into chunks of similar length, so padding within a chunk stays small."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    size = chunk_size or max(len(order), 1)
    return [order[i : i + size] for i in range(0, len(order), size)]


def pack_segments(
    segments: torch.Tensor,
    segment_mask: torch.Tensor,
    rows: torch.Tensor,
    slots: torch.Tensor,
    n_rows: int,
    n_slots: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lay ``[pairs, L]`` segments side by side: ``[n_rows, n_slots * L]`` ids and mask.

    Segment ``k`` goes to row ``rows[k]``, slot ``slots[k]``; empty slots are
    all padding (id 0, mask 0).
    """
    length = segments.shape[1]
    ids = segments.new_zeros(n_rows, n_slots, length)
    mask = segment_mask.new_zeros(n_rows, n_slots, length)
    ids[rows, slots] = segments
    mask[rows, slots] = segment_mask
    return ids.view(n_rows, n_slots * length), mask.view(n_rows, n_slots * length)


def segment_causal_mask(mask: torch.Tensor, segment_length: int) -> torch.Tensor:
    """``[rows, 1, T, T]`` boolean self-attention mask for packed segments.

    A position sees the real positions of its own segment up to itself, so
    each segment is decoded exactly as if it were alone; every position also
    sees itself, so padding rows never have an empty softmax (NaN).
    """
    total = mask.shape[1]
    position = torch.arange(total, device=mask.device)
    segment = position // segment_length
    same_causal = (segment[:, None] == segment[None, :]) & (position[None, :] <= position[:, None])
    allowed = same_causal[None] & mask.bool()[:, None, :]
    return (allowed | torch.eye(total, dtype=torch.bool, device=mask.device)[None]).unsqueeze(1)
