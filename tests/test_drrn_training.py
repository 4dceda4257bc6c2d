"""The DRRN as a suite learner and agent (§B.5): resume, checkpoints, tokenizer, test sets, learning."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from glam_bench.runtime.results import TIMING_COLUMNS
from glam_bench.agents import RandomAgent
from glam_bench.agents.drrn.learner import DRRNAgent, DRRNLearner, build_agent, build_learner
from glam_bench.agents.drrn.prompt_memory import EnvPrompts
from glam_bench.agents.drrn.tokenizer import ensure_tokenizer, tokenizer_path
from glam_bench.agents.families import schedule
from glam_bench.runtime.config import ConfigError, RunConfig
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.rl.episodes import run_episodes
from glam_bench.paper.test_sets import get_test_set
from glam_bench.runtime.process import configure_process
from glam_bench.runtime.runs import CheckpointError, RunPaths
from glam_bench.runtime.training import train
from glam_bench.paper.vocabulary import SYNONYM_ACTION_SETS



@pytest.fixture(scope="module", autouse=True)
def drrn_training_process():
    """Train in a process set as `glam-bench train` sets DRRN's (denormals flushed), then undo."""
    configure_process(flush_denormal=True)
    yield
    configure_process()


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("models")
    ensure_tokenizer(path)
    return path


def tiny_config(models_dir, **changes) -> RunConfig:
    """3 envs x 8 steps per update, 6 updates (seed 4: episodes end in updates 1 and 5); a replay smaller
    than the run, so its ring wraps."""
    config = RunConfig(
        experiment="resume", agent="drrn", seed=4, env="BabyAI-Text-GoToRedBall-v0",
        preset="test", num_envs=3, frames_per_env=8, total_frames=3 * 8 * 6, nbr_obs=2,
        device="cpu", models_dir=str(models_dir),
        drrn={"batch_size": 8, "memory_capacity": 40, "embedding_dim": 16, "hidden_dim": 16},
    )
    return dataclasses.replace(config, **changes)


def run_paths(root, name: str) -> RunPaths:
    return RunPaths.for_run(root / name / "results", root / name / "work", "resume", "drrn", 4)


def log_without_timings(paths: RunPaths) -> pd.DataFrame:
    return pd.read_csv(paths.train_log).drop(columns=list(TIMING_COLUMNS))


def success_rate(episodes) -> float:
    return float(np.mean([e.success for e in episodes]))


#: Test-seed episodes of the learning tests, for the trained agent and for random.
TEST_EPISODES = 256


def trained_and_random_success(config: RunConfig, build_learner,
                               build_agent) -> tuple[float, float]:
    """Train ``config`` for its updates (train()'s loop, without the per-update checkpoints),
    then return the success of its agent and of the random agent on the same test seeds."""
    learner = build_learner(config)
    for _ in range(schedule(config).num_updates):
        learner.update()
    state = learner.state_dict()
    learner.close()
    seeds = env_seeds(1, 32, "test")
    vector_env = make_vector_env(config.env, 32)
    try:
        agent = build_agent(config, state, vector_env, get_test_set("no_change"), seed=1)
        trained = success_rate(run_episodes(vector_env, agent, TEST_EPISODES, seeds, progress=False))
        random_agent = RandomAgent(32, 6, seed=1)
        rand = success_rate(run_episodes(vector_env, random_agent, TEST_EPISODES, seeds,
                                         progress=False))
    finally:
        vector_env.close()
    return trained, rand


def assert_same_state(a, b) -> None:
    """Nested dicts/lists of tensors, arrays and plain values are equal, NaN-free exactly."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same_state(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_state(x, y)
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


# --- config and tokenizer -----------------------------------------------------------


def test_config_takes_loop_fields_from_the_run_and_rejects_unknown_keys(models_dir):
    learner = build_learner(tiny_config(models_dir))
    try:
        assert isinstance(learner, DRRNLearner)
        c = learner.config
        assert (c.num_envs, c.frames_per_env, c.nbr_obs, c.batch_size) == (3, 8, 2, 8)
        assert c.vocab_size == learner.tokenizer.vocab_size  # the 8000 request, capped (§B.5)
        assert (c.gamma, c.lr, c.max_grad_norm) == (0.9, 1e-4, 5.0)  # paper defaults kept
    finally:
        learner.close()
    with pytest.raises(ConfigError, match=r"unknown drrn settings \['num_envs'\]"):
        build_learner(tiny_config(models_dir, drrn={"num_envs": 4}))


def test_tokenizer_is_built_once_into_models_dir_and_loaded_from_there(tmp_path):
    first = ensure_tokenizer(tmp_path)
    path = tokenizer_path(tmp_path)
    stamp = path.stat().st_mtime_ns
    again = ensure_tokenizer(tmp_path)
    assert path.stat().st_mtime_ns == stamp  # loaded, not rebuilt
    assert again.model_proto == first.model_proto
    learner = build_learner(tiny_config(tmp_path))
    try:
        assert learner.tokenizer.model_proto == path.read_bytes()
    finally:
        learner.close()


# --- prompts -------------------------------------------------------------------------


def test_env_prompts_follow_episodes_and_the_faithful_first_observation_option():
    actions = ("turn left", "turn right", "go forward")
    first, second, third = ("You see a wall 1 step forward",), ("You carry a red ball",), ("A",)
    for faithful in (False, True):
        prompts = EnvPrompts(2, 3, actions, faithful_missing_first_obs=faithful)
        prompts.episode_ended(0)  # before any observation: nothing to forget
        prompts.observe([first, first])
        assert all("Observation 0: You see a wall 1 step forward, " in p
                   for p in prompts.prompts(["go to the red ball"] * 2))
        prompts.record_actions([2, 0])
        prompts.episode_ended(1)
        prompts.observe([second, third])
        env0, env1 = prompts.prompts(["go to the red ball"] * 2)
        assert env0.endswith("Action 0: go forward \n Observation 1: You carry a red ball, \n Action 1: ")
        # A new episode starts with its first observation, or with none under the authors' bug (§B.1).
        assert env1.endswith("Goal of the agent: go to the red ball" if faithful else
                             "Observation 0: A, \n Action 0: ")


# --- the training loop --------------------------------------------------------------


def test_update_fills_replay_and_logs_nan_until_a_batch_is_there(models_dir):
    learner = build_learner(tiny_config(models_dir))
    try:
        first = learner.update()  # 24 transitions >= batch 8: one gradient step
        assert first.frames == 24 and len(learner.replay) == 24
        assert np.isnan(first.losses["policy_loss"])
        assert first.losses["loss"] == first.losses["q_loss"] == first.losses["value_loss"]
        assert 0 < first.losses["entropy"] <= np.log(6) + 1e-6
    finally:
        learner.close()
    learner = build_learner(tiny_config(models_dir, drrn={"batch_size": 64}))
    try:
        early = learner.update()
        assert all(np.isnan(early.losses[k]) for k in ("loss", "grad_norm", "q_loss", "q_mean"))
    finally:
        learner.close()


def test_kill_and_resume_gives_the_uninterrupted_run(models_dir, tmp_path):
    config = tiny_config(models_dir)
    straight_paths, resumed_paths = run_paths(tmp_path, "straight"), run_paths(tmp_path, "resumed")

    straight = build_learner(config)
    train(config, straight_paths, straight, progress=False)
    straight.close()

    killed = build_learner(config)
    assert train(config, resumed_paths, killed, progress=False, stop_after=3) == 3
    killed.close()
    resumed = build_learner(config)
    assert train(config, resumed_paths, resumed, progress=False) == 6
    resumed.close()

    straight_log, resumed_log = log_without_timings(straight_paths), log_without_timings(resumed_paths)
    assert len(straight_log) == 6 and straight_log["episodes"].iloc[-1] > 0
    assert {"q_loss", "q_mean", "target_mean"} <= set(straight_log.columns)
    pd.testing.assert_frame_equal(straight_log, resumed_log)
    assert_same_state(straight.q_learning.state_dict(), resumed.q_learning.state_dict())
    assert_same_state(straight.replay.state_dict(), resumed.replay.state_dict())
    assert (resumed_paths.results / "done.json").exists()


def test_corrupt_checkpoint_is_a_clear_error_naming_the_file(models_dir, tmp_path):
    config = tiny_config(models_dir)
    paths = run_paths(tmp_path, "corrupt")
    paths.checkpoint.parent.mkdir(parents=True)
    paths.checkpoint.write_bytes(b"not a checkpoint")
    learner = build_learner(config)
    try:
        with pytest.raises(CheckpointError, match=str(paths.checkpoint)):
            train(config, paths, learner, progress=False)
    finally:
        learner.close()


# --- evaluation agents honour the test sets -------------------------------------------


@pytest.fixture(scope="module")
def trained_state(models_dir):
    learner = build_learner(tiny_config(models_dir))
    learner.update()
    state = learner.state_dict()
    learner.close()
    return state


def test_synonym_action_names_are_the_scored_candidates(models_dir, trained_state):
    config = tiny_config(models_dir)
    vector_env = make_vector_env(config.env, 2)
    try:
        agent = build_agent(config, trained_state, vector_env, get_test_set("synonym_actions"), seed=0)
        assert isinstance(agent, DRRNAgent)
        synonyms = list(SYNONYM_ACTION_SETS["synonyms_1"])
        assert agent.candidates == agent.tokenizer.encode_batch(synonyms)
        observations, _ = vector_env.reset(seed=env_seeds(1, 2, "test"))
        actions = agent.act(observations)
        assert actions.shape == (2,) and set(actions) <= set(range(6))
        prompt = agent.prompts.prompts(observations["mission"])[0]
        assert prompt.startswith("Possible action of the agent: rotate left, rotate right, move ahead")
        assert agent.prompts.memories[0].actions[-1] in synonyms
    finally:
        vector_env.close()


def test_substitutions_rewrite_the_prompt_the_drrn_reads(models_dir, trained_state):
    config = tiny_config(models_dir)
    vector_env = make_vector_env(config.env, 2)
    try:
        agent = build_agent(config, trained_state, vector_env, get_test_set("invented_words"), seed=0)
        observations, _ = vector_env.reset(seed=env_seeds(1, 2, "test"))
        agent.act(observations)
        prompt = agent.prompts.prompts(observations["mission"])[0]
        assert "Goal of the agent: go to the faze xolo" in prompt or "go to a faze xolo" in prompt
        assert "red ball" not in prompt
    finally:
        vector_env.close()


# --- learning -------------------------------------------------------------------------

#: The easy configuration of the learning test. Measured on 2 cores, 256 test episodes each:
#: under the package versions of 2026-11 (numpy 2.4.6, sentencepiece 0.2.3, which trains the
#: DRRN tokenizer), 300 updates give 0.402 against random's 0.359 (the same on the code of
#: 6ea7948, so the change is the environment's, not the suite's) and 400 updates 0.531
#: (about 4 standard errors above random; 4 minutes); with lr 1e-3, 300 updates give 0.379.
#: Earlier versions gave 0.746 at 300 updates and 0.414 at 200: the curve is steep here.
#: GoToRedBall: the mission never changes (§A.5). One observation in the prompt
#: (short prompts: cheaper GRU passes), 16 envs x 4 steps per update, 4 gradient steps
#: of batch 64 per update, lr 3e-3, embedding and hidden size 64. Rewards are not scaled
#: (reward_scale 1 instead of 20) and the Boltzmann temperature is 0.05 instead of 1:
#: the policy softmax(Q / T) is the same for Q-values 20x smaller, but Adam, whose steps
#: are about lr whatever the gradient's scale, reaches them in far fewer steps. With the
#: paper's scale and lr the Q-values stay flat for thousands of gradient steps.
LEARNING_UPDATES = 400


@pytest.mark.slow
def test_drrn_beats_random_on_gotoredball(models_dir):
    config = RunConfig(
        experiment="learn", agent="drrn", seed=1, env="BabyAI-Text-GoToRedBall-v0", preset="test",
        num_envs=16, frames_per_env=4, total_frames=16 * 4 * LEARNING_UPDATES, nbr_obs=1,
        reward_scale=1.0, device="cpu", models_dir=str(models_dir),
        drrn={"lr": 3e-3, "batch_size": 64, "gradient_steps_per_update": 4, "embedding_dim": 64,
              "hidden_dim": 64, "temperature": 0.05},
    )
    trained, rand = trained_and_random_success(config, build_learner, build_agent)
    print(f"\nDRRN on GoToRedBall after {config.total_frames} frames: success {trained:.3f}, "
          f"random {rand:.3f} ({TEST_EPISODES} test episodes each)")
    assert trained >= rand + 0.10
