"""GAE (glam_bench.rl.gae) against hand-computed values and its limiting cases."""

import torch

from glam_bench.rl.gae import compute_gae


def test_hand_computed_example_with_episode_end():
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [0.4], [0.3]])
    dones = torch.tensor([[0.0], [1.0], [0.0]])
    last_value = torch.tensor([0.6])
    adv = compute_gae(rewards, values, dones, last_value, gamma=0.9, lam=0.8)
    # t=2: 2 + 0.9*0.6 - 0.3 = 2.24; t=1 ends the episode: 0 - 0.4 = -0.4;
    # t=0: (1 + 0.9*0.4 - 0.5) + 0.9*0.8*(-0.4) = 0.86 - 0.288 = 0.572
    torch.testing.assert_close(adv, torch.tensor([[0.572], [-0.4], [2.24]]))


def test_lambda_one_gives_discounted_return_minus_value():
    torch.manual_seed(0)
    T, N, gamma = 6, 3, 0.99
    rewards, values, last = torch.rand(T, N), torch.rand(T, N), torch.rand(N)
    adv = compute_gae(rewards, values, torch.zeros(T, N), last, gamma=gamma, lam=1.0)
    ret = last.clone()
    expected = torch.zeros(T, N)
    for t in reversed(range(T)):
        ret = rewards[t] + gamma * ret
        expected[t] = ret - values[t]
    torch.testing.assert_close(adv, expected)


def test_lambda_zero_gives_one_step_td_error():
    torch.manual_seed(1)
    T, N, gamma = 5, 2, 0.9
    rewards, values, last = torch.rand(T, N), torch.rand(T, N), torch.rand(N)
    dones = (torch.rand(T, N) > 0.5).float()
    adv = compute_gae(rewards, values, dones, last, gamma=gamma, lam=0.0)
    next_values = torch.cat([values[1:], last[None]])
    torch.testing.assert_close(adv, rewards + gamma * next_values * (1 - dones) - values)
