"""Symbolic-PPO baseline (§B.6): mission vocabulary, expert_filmcnn model, recurrent PPO."""

import copy
import dataclasses

import pytest
import torch

from glam_bench.agents.symbolic_ppo import (
    MissionVocab,
    Rollout,
    SymbolicACModel,
    SymbolicPPOConfig,
    VocabularyFullError,
    make_optimizer,
    ppo_update,
)

# --- mission vocabulary ------------------------------------------------------------


def test_vocab_grows_pads_and_round_trips():
    vocab = MissionVocab()
    assert vocab.encode("Pick up the red ball, then go to a box") == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    ids = vocab.encode_batch(["go to the red ball", "open the door"])
    assert ids.tolist() == [[7, 8, 3, 4, 5], [11, 3, 12, 0, 0]]
    resumed = MissionVocab(max_size=5)
    resumed.load_state_dict(vocab.state_dict())
    assert resumed.encode("open a door") == [11, 9, 12] and len(resumed) == 12


def test_vocab_refuses_words_beyond_embedding():
    vocab = MissionVocab(max_size=5)  # words get ids 1..3, id 4 is the unknown word
    vocab.encode("a b c")
    with pytest.raises(VocabularyFullError):
        vocab.encode("d")
    assert vocab.encode("c b a") == [3, 2, 1]


def test_frozen_vocab_maps_unseen_words_to_unknown_id():
    vocab = MissionVocab(max_size=100)
    vocab.encode("go to the red ball")
    vocab.frozen = True
    assert vocab.encode("go to the faze xolo") == [1, 2, 3, 99, 99]
    assert len(vocab) == 5


# --- model -----------------------------------------------------------------------------


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_paper_parameter_count():
    """§B.6's architecture counted by hand (weights + biases), which the reference rounds to
    "≈1.07M"."""
    conv3x3 = 128 * 128 * 9 + 128
    batch_norm = 2 * 128
    linear_128 = 128 * 128 + 128
    film_block = 2 * conv3x3 + 2 * batch_norm + 2 * linear_128  # conv-BN-conv-BN, FiLM w and b
    by_hand = (
        (3 * 128 * 2 * 2 + 128) + batch_norm  # Conv2d(3->128, k2) + BN
        + conv3x3 + batch_norm  # Conv2d(128->128, k3) + BN
        + 2 * film_block
        + (4 * 128 * (128 + 128) + 2 * 4 * 128)  # LSTMCell(128 -> 128)
        + 100 * 128  # Embedding(100, 128)
        + (3 * 128 * (128 + 128) + 2 * 3 * 128)  # GRU(128 -> 128)
        + (128 * 64 + 64) + (64 * 6 + 6)  # actor
        + (128 * 64 + 64) + (64 * 1 + 1)  # critic
    )
    n = _n_params(SymbolicACModel(SymbolicPPOConfig()))
    assert n == by_hand
    assert abs(n - 1.07e6) / 1.07e6 < 0.005


@pytest.mark.parametrize("n_actions", [3, 6, 9])
def test_forward_shapes(n_actions):
    torch.manual_seed(0)
    model = SymbolicACModel(dataclasses.replace(SymbolicPPOConfig(), n_actions=n_actions))
    image = torch.randint(0, 11, (5, 7, 7, 3))
    missions = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0], [1, 2, 3, 4], [6, 0, 0, 0], [7, 8, 9, 1]])
    dist, value, memory = model(image, missions, model.initial_memory(5))
    assert dist.probs.shape == (5, n_actions)
    assert value.shape == (5,) and memory.shape == (5, 256)
    torch.testing.assert_close(dist.probs.sum(1), torch.ones(5))


def test_babyai_init_normalises_linear_rows():
    model = SymbolicACModel()
    for layer in (model.actor[0], model.critic[2], model.films[0].weight):
        torch.testing.assert_close(layer.weight.norm(dim=1), torch.ones(layer.weight.shape[0]))
        assert not layer.bias.any()


def test_mission_padding_does_not_change_encoding():
    model = SymbolicACModel()
    short = model.encode_mission(torch.tensor([[3, 4, 5]]))
    padded = model.encode_mission(torch.tensor([[3, 4, 5, 0, 0]]))
    torch.testing.assert_close(short, padded)


# --- PPO update -----------------------------------------------------------------------------

REWARDED_ACTION = 2


def _synthetic_rollout(model, T=20, N=4, seed=0) -> Rollout:
    """One-step episodes with random views; only action 2 is rewarded."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 6, (T, N, 7, 7, 3), generator=g)
    missions = torch.randint(1, 20, (T, N, 5), generator=g)
    memories = torch.zeros(T, N, model.memory_size)
    with torch.no_grad():
        dist, values, _ = model(images.flatten(0, 1), missions.flatten(0, 1), memories.flatten(0, 1))
    actions = torch.randint(0, model.actor[-1].out_features, (T * N,), generator=g)
    return Rollout(
        images=images,
        missions=missions,
        actions=actions.view(T, N),
        log_probs=dist.log_prob(actions).view(T, N),
        values=values.view(T, N),
        rewards=(actions == REWARDED_ACTION).float().view(T, N),
        dones=torch.ones(T, N),
        masks=torch.zeros(T, N),
        memories=memories,
        last_value=torch.zeros(N),
    )


def _mean_prob_of_rewarded_action(model, rollout):
    with torch.no_grad():
        dist, _, _ = model(
            rollout.images.flatten(0, 1), rollout.missions.flatten(0, 1), rollout.memories.flatten(0, 1)
        )
    return dist.probs[:, REWARDED_ACTION].mean().item()


def test_ppo_update_raises_probability_of_rewarded_action():
    torch.manual_seed(0)
    # A larger lr than the paper's 1e-4 so that one update (8 optimizer steps) shows clearly.
    config = dataclasses.replace(SymbolicPPOConfig(), recurrence=10, minibatch_size=40, lr=1e-3)
    model = SymbolicACModel(config)
    model.train()
    rollout = _synthetic_rollout(model)
    before = _mean_prob_of_rewarded_action(model, rollout)
    logs = ppo_update(model, make_optimizer(model, config), rollout, config, torch.Generator().manual_seed(0))
    after = _mean_prob_of_rewarded_action(model, rollout)
    assert set(logs) == {"entropy", "value", "policy_loss", "value_loss", "loss", "grad_norm"}
    assert after > before + 0.08, (before, after)


def test_ppo_update_is_reproducible_with_a_generator():
    torch.manual_seed(0)
    config = dataclasses.replace(SymbolicPPOConfig(), recurrence=5, minibatch_size=20, epochs=1)
    model = SymbolicACModel(config)
    rollout = _synthetic_rollout(model, T=10, N=2)
    twin = copy.deepcopy(model)
    logs_a = ppo_update(model, make_optimizer(model, config), rollout, config,
                        torch.Generator().manual_seed(3))
    logs_b = ppo_update(twin, make_optimizer(twin, config), rollout, config,
                        torch.Generator().manual_seed(3))
    assert logs_a == logs_b


def test_memory_is_reset_where_mask_is_zero():
    """A frame that starts an episode must ignore whatever memory it was handed."""
    torch.manual_seed(0)
    config = dataclasses.replace(SymbolicPPOConfig(), recurrence=2, minibatch_size=2, epochs=1, lr=0.0)
    model = SymbolicACModel(config)
    rollout = _synthetic_rollout(model, T=2, N=1)
    rollout.memories = torch.randn_like(rollout.memories) * 100  # garbage, masked away
    logs = ppo_update(model, make_optimizer(model, config), rollout, config)
    fresh = _synthetic_rollout(model, T=2, N=1)
    logs_fresh = ppo_update(model, make_optimizer(model, config), fresh, config)
    assert logs["value"] == pytest.approx(logs_fresh["value"])


def test_rejects_rollout_not_divisible_by_recurrence():
    model = SymbolicACModel()
    rollout = _synthetic_rollout(model, T=7, N=1)
    with pytest.raises(ValueError):
        ppo_update(model, make_optimizer(model, SymbolicPPOConfig()), rollout, SymbolicPPOConfig())


def test_paper_defaults():
    c = SymbolicPPOConfig()
    assert (c.recurrence, c.lr, c.adam_betas, c.adam_eps, c.minibatch_size, c.epochs) == (
        20, 1e-4, (0.9, 0.999), 1e-5, 1280, 4)
    assert (c.clip_eps, c.entropy_coef, c.value_coef, c.max_grad_norm) == (0.2, 0.01, 0.5, 0.5)
    assert (c.gamma, c.gae_lambda, c.num_envs, c.frames_per_env) == (0.99, 0.99, 64, 40)
