"""Uniform replay memory for the DRRN (§B.5), resumable bit for bit.

The authors keep up to 5,000,000 transitions and sample uniformly without
replacement from an RNG seeded with 20210824 (§B.5). Prompts are long
(~100-200 tokens) and there may be millions of them, so token ids are kept as
``uint16`` arrays, and the few distinct action strings and candidate lists are
stored once and referenced by index.

``state_dict()`` captures the contents, the write position and the sampler's
RNG state, so a run killed after a checkpoint draws exactly the same batches
after ``load_state_dict()`` as it would have without the interruption.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

PAPER_CAPACITY = 5_000_000
PAPER_SEED = 20210824
TOKEN_DTYPE = np.uint16  # every vocabulary here is < 65536 tokens


@dataclass(frozen=True)
class Transition:
    """One step: the chosen action's tokens and the next state's candidate actions."""

    state: Sequence[int]
    action: Sequence[int]
    reward: float
    next_state: Sequence[int]
    next_actions: Sequence[Sequence[int]]
    done: bool


@dataclass(frozen=True)
class TransitionBatch:
    """A sampled batch, token sequences as numpy arrays (ready for ``pad_token_ids``)."""

    states: list[np.ndarray]
    actions: list[np.ndarray]
    rewards: np.ndarray  # float32 [B]
    next_states: list[np.ndarray]
    next_actions: list[list[np.ndarray]]
    dones: np.ndarray  # float32 [B], 1.0 where the episode ended

    def __len__(self) -> int:
        return len(self.states)


def _tokens(seq: Sequence[int]) -> np.ndarray:
    arr = np.asarray(seq, dtype=np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > np.iinfo(TOKEN_DTYPE).max):
        raise ValueError("token id out of the uint16 range")
    return arr.astype(TOKEN_DTYPE)


class _Interner:
    """Stores each distinct value once; returns a stable index for it."""

    def __init__(self) -> None:
        self.values: list = []
        self._index: dict = {}

    def add(self, key, value) -> int:
        if key not in self._index:
            self._index[key] = len(self.values)
            self.values.append(value)
        return self._index[key]


class ReplayMemory:
    """Ring buffer of transitions with seeded uniform sampling without replacement."""

    def __init__(self, capacity: int = PAPER_CAPACITY, seed: int = PAPER_SEED):
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self.rng = np.random.default_rng(seed)
        self._reset_storage()

    def _reset_storage(self) -> None:
        self._states: list[np.ndarray] = []
        self._next_states: list[np.ndarray] = []
        self._action_ids = array("l")  # index into self._actions
        self._next_action_set_ids = array("l")  # index into self._action_sets
        self._rewards = array("f")
        self._dones = array("b")
        self._actions = _Interner()  # distinct action token arrays
        self._action_sets = _Interner()  # distinct tuples of action indices
        self._position = 0

    def __len__(self) -> int:
        return len(self._states)

    def push(self, transition: Transition) -> None:
        """Add a transition, overwriting the oldest one once the memory is full."""
        action = self._intern_action(transition.action)
        action_set = tuple(self._intern_action(a) for a in transition.next_actions)
        row = (
            _tokens(transition.state),
            _tokens(transition.next_state),
            action,
            self._action_sets.add(action_set, action_set),
            float(transition.reward),
            int(bool(transition.done)),
        )
        if len(self) < self.capacity:
            self._append(row)
        else:
            self._overwrite(self._position, row)
        self._position = (self._position + 1) % self.capacity

    def _intern_action(self, tokens: Sequence[int]) -> int:
        arr = _tokens(tokens)
        return self._actions.add(arr.tobytes(), arr)

    def _append(self, row: tuple) -> None:
        state, next_state, action, action_set, reward, done = row
        self._states.append(state)
        self._next_states.append(next_state)
        self._action_ids.append(action)
        self._next_action_set_ids.append(action_set)
        self._rewards.append(reward)
        self._dones.append(done)

    def _overwrite(self, i: int, row: tuple) -> None:
        state, next_state, action, action_set, reward, done = row
        self._states[i], self._next_states[i] = state, next_state
        self._action_ids[i], self._next_action_set_ids[i] = action, action_set
        self._rewards[i], self._dones[i] = reward, done

    def sample(self, batch_size: int) -> TransitionBatch:
        """Uniformly sample distinct transitions (as ``random.sample`` in tdqn)."""
        if batch_size > len(self):
            raise ValueError(f"cannot sample {batch_size} from {len(self)} transitions")
        idx = self.rng.choice(len(self), size=batch_size, replace=False)
        actions = self._actions.values
        return TransitionBatch(
            states=[self._states[i] for i in idx],
            actions=[actions[self._action_ids[i]] for i in idx],
            rewards=np.array([self._rewards[i] for i in idx], dtype=np.float32),
            next_states=[self._next_states[i] for i in idx],
            next_actions=[
                [actions[a] for a in self._action_sets.values[self._next_action_set_ids[i]]]
                for i in idx
            ],
            dones=np.array([self._dones[i] for i in idx], dtype=np.float32),
        )

    # --- checkpointing ---------------------------------------------------

    def state_dict(self) -> dict:
        """Contents, write position and RNG state as tensors and plain Python values.

        Loadable with ``torch.load(..., weights_only=True)``.
        """
        action_sets = self._action_sets.values
        return {
            "capacity": self.capacity,
            "position": self._position,
            "rng_state": self.rng.bit_generator.state,
            "states": _pack(self._states),
            "next_states": _pack(self._next_states),
            "action_ids": torch.tensor(self._action_ids, dtype=torch.long),
            "next_action_set_ids": torch.tensor(self._next_action_set_ids, dtype=torch.long),
            "rewards": torch.tensor(self._rewards, dtype=torch.float32),
            "dones": torch.tensor(self._dones, dtype=torch.bool),
            "actions": _pack(self._actions.values),
            "action_sets": _pack([np.asarray(s, dtype=np.int64) for s in action_sets]),
        }

    def load_state_dict(self, state: dict) -> None:
        """Replace everything, capacity and RNG state included, with a saved state."""
        self.capacity = int(state["capacity"])
        self._reset_storage()
        for arr in _unpack(state["actions"]):
            self._actions.add(arr.tobytes(), arr)
        for arr in _unpack(state["action_sets"]):
            key = tuple(int(a) for a in arr)
            self._action_sets.add(key, key)
        self._states = _unpack(state["states"])
        self._next_states = _unpack(state["next_states"])
        self._action_ids = array("l", state["action_ids"].tolist())
        self._next_action_set_ids = array("l", state["next_action_set_ids"].tolist())
        self._rewards = array("f", state["rewards"].tolist())
        self._dones = array("b", state["dones"].to(torch.int8).tolist())
        self._position = int(state["position"])
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng_state"]


def _pack(arrays: list[np.ndarray]) -> dict[str, torch.Tensor]:
    """Ragged arrays -> one flat tensor plus lengths (compact, no per-row pickling)."""
    lengths = torch.tensor([len(a) for a in arrays], dtype=torch.long)
    dtype = arrays[0].dtype if arrays else TOKEN_DTYPE
    flat = np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)
    return {"flat": torch.from_numpy(np.ascontiguousarray(flat)), "lengths": lengths}


def _unpack(packed: dict[str, torch.Tensor]) -> list[np.ndarray]:
    flat = packed["flat"].numpy()
    bounds = np.cumsum([0] + packed["lengths"].tolist())
    return [flat[bounds[i] : bounds[i + 1]].copy() for i in range(len(bounds) - 1)]
