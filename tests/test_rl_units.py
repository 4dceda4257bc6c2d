"""The PPO loss, reward scaling, the train-log row and the action mapping, against numbers
worked out by hand (§A.1, §C, §G)."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from glam_bench.agents.base import to_env_actions
from glam_bench.agents.families import schedule
from glam_bench.rl.episodes import Episode
from glam_bench.rl.ppo import ppo_losses
from glam_bench.rl.rewards import scale_rewards
from glam_bench.rl.stats import EpisodeWindow, update_row

ROOT = Path(__file__).resolve().parents[1]

# --- ppo_losses (§C) -------------------------------------------------------------------
# Four samples over two actions, all taking action 0. Logits are log-probabilities, so the new
# probability of action 0 is exact: 0.6 in samples a, c and 0.3 in b, d. Old probabilities
# 0.4 and 0.5 give ratios r = 0.6/0.4 = 1.5 and 0.3/0.5 = 0.6.
#   sample  r    A   r*A   clip(r)*A  min     (epsilon 0.2: clip to [0.8, 1.2])
#   a       1.5  +1  1.5   1.2        1.2     upper clip bites
#   b       0.6  -1  -0.6  -0.8       -0.8    lower clip bites
#   c       1.5  -1  -1.5  -1.2       -1.5    unclipped side is the minimum
#   d       0.6  +1  0.6   0.8        0.6     unclipped side is the minimum
# policy_loss = -(1.2 - 0.8 - 1.5 + 0.6) / 4 = 0.125   (no clipping: -(1.5-0.6-1.5+0.6)/4 = 0)
# Values, R = V_old + A, clipped = V_old + clip(V - V_old, -0.2, 0.2):
#   sample  V_old  A   R     V    (V-R)^2  clipped  (clipped-R)^2  max
#   a       0.0    +1  1.0   0.5  0.25     0.2      0.64           0.64
#   b       1.0    -1  0.0   0.9  0.81     0.9      0.81           0.81
#   c       0.0    -1  -1.0  0.3  1.69     0.2      1.44           1.69
#   d       0.5    +1  1.5   2.0  0.25     0.7      0.64           0.64
# value_loss = (0.64 + 0.81 + 1.69 + 0.64) / 4 = 0.945   (min instead of max: 0.6875)
# entropy = mean of H(0.6, 0.4) and H(0.3, 0.7), two samples each.
NEW_P0 = [0.6, 0.3, 0.6, 0.3]
OLD_P0 = [0.4, 0.5, 0.4, 0.5]
ADVANTAGES = [1.0, -1.0, -1.0, 1.0]
OLD_VALUES = [0.0, 1.0, 0.0, 0.5]
VALUES = [0.5, 0.9, 0.3, 2.0]


def binary_entropy(p: float) -> float:
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


ENTROPY = (binary_entropy(0.6) + binary_entropy(0.3)) / 2


def hand_losses(entropy_coef: float, value_coef: float):
    logits = torch.log(torch.tensor([[p, 1 - p] for p in NEW_P0]))
    return ppo_losses(logits, torch.tensor(VALUES), torch.zeros(4, dtype=torch.long),
                      torch.log(torch.tensor(OLD_P0)), torch.tensor(OLD_VALUES),
                      torch.tensor(ADVANTAGES), clip_eps=0.2, entropy_coef=entropy_coef,
                      value_coef=value_coef)


def test_ppo_policy_loss_clips_the_ratio_on_both_sides():
    assert hand_losses(0.01, 0.5).policy_loss.item() == pytest.approx(0.125, abs=1e-6)


def test_ppo_value_loss_takes_the_max_of_clipped_and_unclipped():
    assert hand_losses(0.01, 0.5).value_loss.item() == pytest.approx(0.945, abs=1e-6)


def test_ppo_entropy_is_subtracted_and_the_value_loss_weighted():
    losses = hand_losses(0.01, 0.5)
    assert losses.entropy.item() == pytest.approx(ENTROPY, abs=1e-6)
    assert losses.loss.item() == pytest.approx(0.125 - 0.01 * ENTROPY + 0.5 * 0.945, abs=1e-6)
    # A large entropy coefficient makes the sign unmistakable: more entropy, lower loss.
    assert hand_losses(1.0, 0.0).loss.item() == pytest.approx(0.125 - ENTROPY, abs=1e-6)


# --- reward scaling (§A.4, §C: reward = 20 x env reward) -------------------------------

def test_scale_rewards_multiplies_positive_rewards_by_the_scale():
    scaled = scale_rewards([0.0, 0.5, 0.91, 1.0], 20)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, [0.0, 10.0, 18.2, 20.0], rtol=1e-6)


def test_paper_presets_scale_rewards_by_twenty():
    from glam_bench.runtime.config import resolve_run
    from glam_bench.pipeline.preset_checks import load_preset

    for preset_name in ("default", "ci"):
        preset = load_preset(ROOT / "workflows" / "config" / f"{preset_name}.yaml")
        for agent in ("gflan", "drrn", "symbolic-ppo"):
            assert resolve_run(preset, "mixed", agent, 1).reward_scale == 20


def test_the_llm_learner_trains_on_twenty_times_the_env_reward(tmp_path, monkeypatch):
    """Every env pays 0.5 at every step; the rewards GAE sees must be 10."""
    import glam_bench.agents.llm_ppo as llm_ppo
    from glam_bench.runtime.config import resolve_run
    from glam_bench.pipeline.preset_checks import load_preset

    preset = load_preset(ROOT / "workflows" / "config" / "ci.yaml")
    config = dataclasses.replace(resolve_run(preset, "mixed", "gflan", 1),
                                 models_dir=str(tmp_path))
    learner = llm_ppo.LLMPPOLearner(config)
    env_step = learner.vector_env.step

    def paying_step(actions):
        observations, reward, terminated, truncated, infos = env_step(actions)
        return observations, np.full_like(reward, 0.5), terminated, truncated, infos

    seen = {}

    def spy_gae(rewards, *args, **kwargs):
        seen["rewards"] = rewards.clone()
        return torch.zeros_like(rewards)

    monkeypatch.setattr(learner.vector_env, "step", paying_step)
    monkeypatch.setattr(llm_ppo, "compute_gae", spy_gae)
    learner._collect()
    learner.close()
    assert config.reward_scale == 20
    torch.testing.assert_close(seen["rewards"], torch.full_like(seen["rewards"], 10.0))


# --- to_env_actions (§A.1) -------------------------------------------------------------

def test_candidate_indices_above_six_become_the_noop():
    np.testing.assert_array_equal(to_env_actions(np.array([0, 1, 5, 6, 7, 8, 11])),
                                  [0, 1, 5, 6, 6, 6, 6])


# --- the train-log row (§G) --------------------------------------------------------------

def episode(ret: float, length: int) -> Episode:
    return Episode(env_index=0, episode_return=ret, length=length, task_kind="goto")


def test_train_log_row_summarises_the_update_and_falls_back_to_the_last_num_envs_episodes():
    window = EpisodeWindow(num_envs=4)
    # Update 1: five episodes finish (>= num_envs), so exactly these five are summarised.
    window.add([episode(0.0, 64), episode(0.5, 40), episode(0.7, 30), episode(0.82, 20),
                episode(0.0, 64)])
    first = update_row({"agent": "x"}, 1, 160, window.total_episodes, window.take(), 20.0,
                       update_frames=160, seconds=2.0, duration=2.0, losses={"loss": 1.5})
    assert first["success_rate"] == pytest.approx(3 / 5)
    assert first["return_mean"] == pytest.approx((0.5 + 0.7 + 0.82) / 5)
    assert first["episodes"] == 5 and first["fps"] == pytest.approx(80.0)
    # Update 2: only two finish (< num_envs = 4): the last four finished episodes are used,
    # two of them from update 1: returns 0.82, 0.0 (old), 0.91, 0.0 (new); lengths 20, 64,
    # 10, 64 (mean 39.5).
    window.add([episode(0.91, 10), episode(0.0, 64)])
    row = update_row({"agent": "x"}, 2, 320, window.total_episodes, window.take(), 20.0,
                     update_frames=160, seconds=4.0, duration=6.0, losses={"loss": 0.5})
    returns = [0.82, 0.0, 0.91, 0.0]
    mean = 1.73 / 4
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / 4)  # numpy's default, ddof 0
    expected = {
        "agent": "x", "update": 2, "episodes": 7, "frames": 320, "fps": 40.0, "duration": 6.0,
        "return_mean": 0.4325, "return_std": std, "return_min": 0.0, "return_max": 0.91,
        "success_rate": 0.5,
        "reshaped_return_mean": 8.65, "reshaped_return_std": 20 * std,
        "reshaped_return_min": 0.0, "reshaped_return_max": 18.2,
        "num_frames_mean": 39.5, "num_frames_std": math.sqrt((19.5**2 + 2 * 24.5**2 + 29.5**2) / 4),
        "num_frames_min": 10.0, "num_frames_max": 64.0, "loss": 0.5,
    }
    assert row.keys() == expected.keys()
    for key, value in expected.items():
        assert row[key] == pytest.approx(value), key
    # Update 3 starts afresh: none of update 2's episodes are counted twice as "current".
    window.add([episode(1.0, 1)] * 4)
    assert [e.episode_return for e in window.take()] == [1.0] * 4


def test_train_writes_the_hand_computed_rows(tmp_path):
    """train() feeds the learner's episodes through the window into train_log.csv."""
    from glam_bench.runtime.config import resolve_run
    from glam_bench.pipeline.preset_checks import load_preset
    from glam_bench.runtime.runs import RunPaths
    from glam_bench.runtime.training import Learner, UpdateResult, train

    batches = [[episode(0.5, 10), episode(0.0, 64)], [episode(0.9, 5)]]

    class Scripted(Learner):
        model_name = "scripted"

        def __init__(self):
            self.done = 0

        def update(self):
            self.done += 1
            return UpdateResult(frames=16, episodes=batches[self.done - 1],
                                losses={"entropy": 1.0, "policy_loss": 0.0, "value_loss": 0.0,
                                        "loss": float(self.done), "grad_norm": 0.1})

        def state_dict(self):
            return {"done": self.done}

        def load_state_dict(self, state):
            self.done = state["done"]

    preset = load_preset(ROOT / "workflows" / "config" / "ci.yaml")
    config = resolve_run(preset, "mixed", "gflan", 1)
    config = dataclasses.replace(config, total_frames=2 * schedule(config).frames_per_update)
    assert config.num_envs == 2 and schedule(config).num_updates == 2
    paths = RunPaths.for_run(tmp_path / "results", tmp_path / "work", config.experiment,
                             config.agent, config.seed)
    train(config, paths, Scripted(), progress=False)
    log = pd.read_csv(paths.train_log)
    # Update 2 had one episode (< 2 envs): the last two are 0.0 (update 1) and 0.9.
    assert log["success_rate"].tolist() == [0.5, 0.5]
    assert log["return_mean"].tolist() == pytest.approx([0.25, 0.45])
    assert log["reshaped_return_max"].tolist() == pytest.approx([10.0, 18.0])
    assert log["episodes"].tolist() == [2, 3]
