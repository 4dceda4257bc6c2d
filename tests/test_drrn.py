"""DRRN baseline (§B.5): tokenizer, network, replay memory, Q-learning, prompt memory."""

import dataclasses
import io
from collections import deque

import numpy as np
import pytest
import torch

from glam_bench.agents.drrn import (
    DRRN,
    DRRNConfig,
    DRRNQLearning,
    DRRNTokenizer,
    ReplayMemory,
    Transition,
    boltzmann_sample,
    build_tokenizer,
    observations_after_episode_end,
    pad_token_ids,
    split_q_values,
    start_new_episode,
    td_targets,
)
from glam_bench.agents.drrn.corpus import build_corpus
from glam_bench.agents.drrn.tokenizer import _train_bytes, metadata_path
from glam_bench.paper.vocabulary import ACTIONS

PROMPT = (
    "Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle \n "
    "Goal of the agent: go to the red ball \n Observation 0: You see a wall 2 steps forward, "
    "You see a red ball 1 step left, \n Action 0: go forward \n Observation 1: "
    "You see a wall 1 step forward, \n Action 1: "
)


@pytest.fixture(scope="module")
def tokenizer_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("spm") / "drrn_unigram.model"
    build_tokenizer(path)
    return path


@pytest.fixture(scope="module")
def tokenizer(tokenizer_path):
    return DRRNTokenizer.load(tokenizer_path)


# --- tokenizer -------------------------------------------------------------


def test_tokenizer_is_deterministic(tokenizer_path, tmp_path):
    again = tmp_path / "again.model"
    build_tokenizer(again)
    assert again.read_bytes() == tokenizer_path.read_bytes()
    assert metadata_path(again).read_bytes() == metadata_path(tokenizer_path).read_bytes()


def test_tokenizer_records_largest_supported_vocab(tokenizer):
    assert tokenizer.metadata["vocab_size"] == tokenizer.vocab_size
    assert tokenizer.metadata["requested_vocab_size"] == 8000
    assert 100 < tokenizer.vocab_size <= 8000
    # One more piece than the chosen size is rejected by SentencePiece's hard limit.
    with pytest.raises(RuntimeError):
        _train_bytes(build_corpus(), tokenizer.vocab_size + 1, hard_limit=True)


def test_corpus_round_trips_without_unknown_pieces(tokenizer):
    corpus = build_corpus()
    assert len(corpus) == len(set(corpus))
    for sentence, ids in zip(corpus, tokenizer.encode_batch(corpus)):
        assert tokenizer.unk_id not in ids
        assert tokenizer.decode(ids) == sentence
    assert tokenizer.unk_id not in tokenizer.encode(PROMPT)


# --- network ---------------------------------------------------------------


def test_paper_parameter_count():
    assert sum(p.numel() for p in DRRN(8000).parameters()) == 1_255_169


def test_forward_shapes_and_batch_independence():
    torch.manual_seed(0)
    net = DRRN(50, 16, 16)
    states = [[3, 4, 5, 6], [7], [8, 9]]
    candidates = [[[1, 2], [3]], [[4], [5, 6, 7], [8]], [[9]]]
    counts = [len(c) for c in candidates]
    s_ids, s_len = pad_token_ids(states)
    a_ids, a_len = pad_token_ids([a for c in candidates for a in c])
    q = net(s_ids, s_len, a_ids, a_len, counts)
    assert q.shape == (6,)
    per_state = split_q_values(q, counts)
    assert [len(x) for x in per_state] == counts
    # Padding must not leak: state 1 scored alone gives the same Q-values.
    s1, l1 = pad_token_ids([states[1]])
    a1, al1 = pad_token_ids(candidates[1])
    torch.testing.assert_close(net(s1, l1, a1, al1, [3]), per_state[1])


# --- replay memory -----------------------------------------------------------


def _random_transition(rng: np.random.Generator) -> Transition:
    def seq(n):
        return rng.integers(0, 200, size=n).tolist()

    actions = [[10, 11], [12], [13, 14, 15]]
    return Transition(
        state=seq(rng.integers(1, 30)),
        action=actions[rng.integers(3)],
        reward=float(rng.random()),
        next_state=seq(rng.integers(1, 30)),
        next_actions=actions,
        done=bool(rng.random() < 0.3),
    )


def _batches_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a.states + a.next_states + a.actions, b.states + b.next_states + b.actions):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.rewards, b.rewards)
    np.testing.assert_array_equal(a.dones, b.dones)
    for xs, ys in zip(a.next_actions, b.next_actions):
        for x, y in zip(xs, ys):
            np.testing.assert_array_equal(x, y)


def test_replay_state_dict_reproduces_next_batch():
    rng = np.random.default_rng(0)
    memory = ReplayMemory(capacity=50, seed=20210824)
    for _ in range(80):  # wraps around the ring
        memory.push(_random_transition(rng))
    assert len(memory) == 50
    memory.sample(16)
    buffer = io.BytesIO()
    torch.save(memory.state_dict(), buffer)
    extra = _random_transition(rng)
    expected = memory.sample(16)
    memory.push(extra)  # the write position is restored too
    expected_after_push = memory.sample(8)

    buffer.seek(0)
    resumed = ReplayMemory(capacity=1, seed=0)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    _batches_equal(resumed.sample(16), expected)
    resumed.push(extra)
    _batches_equal(resumed.sample(8), expected_after_push)
    assert resumed.state_dict()["states"]["flat"].dtype == torch.uint16


def test_replay_stores_tokens_compactly_and_samples_without_replacement():
    memory = ReplayMemory(capacity=10, seed=1)
    for i in range(10):
        memory.push(Transition([i, i + 1], [7], float(i), [i], [[7], [8]], False))
    batch = memory.sample(10)
    assert sorted(batch.rewards.tolist()) == list(range(10))
    assert batch.states[0].dtype == np.uint16
    with pytest.raises(ValueError):
        memory.sample(11)


# --- Q-learning ----------------------------------------------------------------


def test_td_targets_cut_bootstrap_at_episode_end():
    targets = td_targets(torch.tensor([1.0, 2.0]), torch.tensor([10.0, 10.0]), torch.tensor([0.0, 1.0]), 0.9)
    torch.testing.assert_close(targets, torch.tensor([10.0, 2.0]))


def test_boltzmann_sampling_follows_softmax_and_is_seeded():
    q = [torch.tensor([0.0, float(np.log(3.0))])] * 4000
    draws = boltzmann_sample(q, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert abs(np.mean(draws) - 0.75) < 0.03
    again = boltzmann_sample(q, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert draws == again
    greedy = boltzmann_sample([torch.tensor([0.0, 1.0, 0.5])] * 10, 1e-4, torch.Generator().manual_seed(1))
    assert greedy == [1] * 10


def test_drrn_learns_two_state_bandit(tokenizer):
    """The state names the rewarded action; Q must rank it first in both states."""
    torch.manual_seed(0)
    config = dataclasses.replace(
        DRRNConfig(), vocab_size=tokenizer.vocab_size, embedding_dim=32, hidden_dim=32, lr=3e-3, batch_size=32
    )
    q_learning = DRRNQLearning.from_config(config)
    memory = ReplayMemory(capacity=10_000, seed=config.memory_seed)
    gen = torch.Generator().manual_seed(0)
    candidates = [tokenizer.encode(a) for a in ACTIONS]
    bandit = {"Goal of the agent: go forward": 2, "Goal of the agent: toggle": 5}
    states = [tokenizer.encode(s) for s in bandit]
    correct = list(bandit.values())
    for _ in range(150):
        chosen = q_learning.act(states, [candidates] * 2, gen)
        for s, a, c in zip(states, chosen, correct):
            memory.push(Transition(s, candidates[a], float(a == c), s, candidates, True))
        if len(memory) >= config.batch_size:
            logs = q_learning.update(memory.sample(config.batch_size))
    assert np.isfinite(logs["loss"])
    with torch.no_grad():
        q = q_learning.q_values(states, [candidates] * 2)
    for q_s, c in zip(q, correct):
        assert int(q_s.argmax()) == c
        assert q_s[c] > 0.7
        others = torch.cat([q_s[:c], q_s[c + 1 :]])
        assert others.max() < 0.3


def test_q_learning_state_dict_round_trip():
    config = dataclasses.replace(DRRNConfig(), vocab_size=30, embedding_dim=8, hidden_dim=8)
    a, b = DRRNQLearning.from_config(config), DRRNQLearning.from_config(config)
    b.load_state_dict(a.state_dict())
    states, cands = [[1, 2, 3]], [[[4], [5, 6]]]
    torch.testing.assert_close(a.q_values(states, cands)[0], b.q_values(states, cands)[0])


# --- config and prompt memory -------------------------------------------------


def test_paper_defaults():
    c = DRRNConfig()
    assert (c.gamma, c.lr, c.max_grad_norm, c.batch_size) == (0.9, 1e-4, 5.0, 64)
    assert (c.memory_capacity, c.memory_seed, c.temperature) == (5_000_000, 20210824, 1.0)
    assert c.num_envs * c.frames_per_env == 128
    assert c.faithful_missing_first_obs is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.gamma = 0.5


class _Memory:
    """Minimal stand-in for glam_bench.paper.prompts.PromptMemory."""

    def __init__(self):
        self.observations, self.actions = deque([["old"]], maxlen=3), deque(["go forward"], maxlen=2)

    def reset(self):
        self.observations.clear()
        self.actions.clear()

    def add_observation(self, sentences):
        self.observations.append(list(sentences))


def test_missing_first_observation_option():
    first = ["You see a wall 2 steps forward"]
    assert observations_after_episode_end(first) == [first]
    assert observations_after_episode_end(first, faithful_missing_first_obs=True) == []
    memory = _Memory()
    start_new_episode(memory, first)
    assert list(memory.observations) == [first] and not memory.actions
    start_new_episode(memory, first, faithful_missing_first_obs=True)
    assert not memory.observations and not memory.actions


def test_score_on_sequences_matches_the_padded_forward():
    """The batched encoder (dedup, shared prefix, length buckets) gives forward's Q-values."""
    from glam_bench.agents.drrn.network import encode_sequences, shared_prefix_length

    torch.manual_seed(0)
    net = DRRN(50, 16, 16)
    rng = np.random.default_rng(0)
    header = [5, 6, 7, 8]
    states = [header + rng.integers(1, 50, size=n).tolist() for n in (1, 9, 30, 3, 17, 9, 40)]
    states += [states[2], [], header]  # a repeat, an empty state, a state that is the prefix alone
    candidates = [[[1, 2], [3], [4, 5, 6]]] * len(states)
    counts = [len(c) for c in candidates]
    flat = [a for c in candidates for a in c]
    s_ids, s_len = pad_token_ids(states)
    a_ids, a_len = pad_token_ids(flat)
    torch.testing.assert_close(net.score(states, flat, counts), net(s_ids, s_len, a_ids, a_len, counts))
    assert shared_prefix_length([np.array(s) for s in states[:7]]) == 4
    assert shared_prefix_length([np.array([1, 2]), np.array([1, 2])]) == 1
    # Gradients agree too.
    codes = encode_sequences(net.embedding, net.state_encoder, states, bucket_size=3)
    codes.sum().backward()
    fast = [p.grad.clone() for p in net.parameters() if p.grad is not None]
    net.zero_grad()
    net._encode(net.state_encoder, s_ids, s_len).sum().backward()
    slow = [p.grad.clone() for p in net.parameters() if p.grad is not None]
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b)
