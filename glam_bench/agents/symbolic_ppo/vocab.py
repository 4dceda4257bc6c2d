"""Mission tokeniser of BabyAI's symbolic agents (§B.6).

A mission is lower-cased and split into ``[a-z]+`` words; each new word gets
the next free id, so the vocabulary is learned as missions arrive. Id 0 is
padding, which the instruction GRU uses to find each mission's length. The
model's word embedding has ``max_size`` (100) rows. The last row,
``max_size - 1``, is reserved for unknown words, so learned words get ids
1..max_size-2 and we refuse the word that would need more. (BabyAI hands out
id 100 and the embedding lookup then fails; BabyAI-Text missions use about 30
words, so no run comes near either limit.)

A *frozen* vocabulary (evaluation, §D) never grows: a word not seen in
training, e.g. an invented noun of a test set, reads as the unknown id, whose
embedding row training never touched.

The vocabulary is part of the agent's state: checkpoints must save it, or a
resumed run would map words to different ids.
"""

from __future__ import annotations

import re
from typing import Sequence

import torch

_WORD = re.compile(r"[a-z]+")
PAD_ID = 0


class VocabularyFullError(ValueError):
    """Raised when a new word needs an id the embedding does not have."""


class MissionVocab:
    """Word -> id map that grows as new words appear (ids start at 1, 0 is padding)."""

    def __init__(self, max_size: int = 100, frozen: bool = False):
        self.max_size = max_size
        self.frozen = frozen
        self.word_to_id: dict[str, int] = {}

    @property
    def unk_id(self) -> int:
        """The id of every word a frozen vocabulary has not seen (the embedding's last row)."""
        return self.max_size - 1

    def __len__(self) -> int:
        return len(self.word_to_id)

    def __getitem__(self, word: str) -> int:
        if word not in self.word_to_id:
            if self.frozen:
                return self.unk_id
            new_id = len(self.word_to_id) + 1
            if new_id >= self.unk_id:
                raise VocabularyFullError(
                    f"mission vocabulary full ({len(self)} words, max_size {self.max_size}); "
                    f"cannot add {word!r}"
                )
            self.word_to_id[word] = new_id
        return self.word_to_id[word]

    def encode(self, mission: str) -> list[int]:
        return [self[w] for w in _WORD.findall(mission.lower())]

    def encode_batch(self, missions: Sequence[str]) -> torch.Tensor:
        """Right-padded ids [B, L] (L >= 1)."""
        encoded = [self.encode(m) for m in missions]
        width = max([1] + [len(e) for e in encoded])
        ids = torch.full((len(encoded), width), PAD_ID, dtype=torch.long)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = torch.tensor(e, dtype=torch.long)
        return ids

    def state_dict(self) -> dict:
        return {"max_size": self.max_size, "word_to_id": dict(self.word_to_id)}

    def load_state_dict(self, state: dict) -> None:
        self.max_size = int(state["max_size"])
        self.word_to_id = {str(w): int(i) for w, i in state["word_to_id"].items()}
