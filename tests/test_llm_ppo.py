"""The LLM PPO learner (§C): exact resume, data parallelism, learning, test-set acting."""

import copy
import dataclasses
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from glam_bench.runtime.results import TIMING_COLUMNS
from glam_bench.agents import RandomAgent
from glam_bench.agents.families import schedule
from glam_bench.agents.llm_ppo import (
    LLMAgent,
    LLMPPOLearner,
    RolloutBatch,
    build_agent,
    ppo_update,
    sample_actions,
)
from glam_bench.runtime.config import PPOConfig, RunConfig, resolve_run
from glam_bench.pipeline.preset_checks import load_preset
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.rl.episodes import run_episodes
from glam_bench.paper.test_sets import get_test_set
from glam_bench.llm.heads import LLMPolicy
from glam_bench.llm.scoring import ScoringConfig
from glam_bench.paper.prompts import build_prompt
from glam_bench.runtime.runs import CheckpointError, RunPaths
from glam_bench.runtime.training import train
from glam_bench.paper.vocabulary import ACTION_SPACES, ACTIONS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def ci_config(models_dir):
    preset = load_preset(ROOT / "workflows" / "config" / "ci.yaml")
    config = resolve_run(preset, "mixed", "gflan", 1)
    return dataclasses.replace(config, total_frames=64, models_dir=models_dir)


def policy(models_dir, seed=1, scorer="logprob"):
    return LLMPolicy.from_pretrained("tiny-t5", "gflan", n_actions=6, head_hidden=64,
                                     models_dir=models_dir, scoring=ScoringConfig(scorer),
                                     seed=seed)


def one_step_prompts(goals):
    """A one-step task: the goal names the action to take."""
    return [build_prompt(ACTIONS[k], [["You see a wall 2 steps forward"]], [], ACTIONS)
            for k in goals]


# --- resume ---------------------------------------------------------------------------

def _train(config, tmp_path, tag, stop_after=None):
    paths = RunPaths.for_run(tmp_path / tag / "results", tmp_path / tag / "work",
                             config.experiment, config.agent, config.seed)
    if stop_after is not None:
        learner = LLMPPOLearner(config)
        train(config, paths, learner, stop_after=stop_after, progress=False)
        learner.close()
    learner = LLMPPOLearner(config)
    train(config, paths, learner, progress=False)
    learner.close()
    return paths, learner


def test_killed_and_resumed_run_equals_uninterrupted_run(ci_config, tmp_path):
    full, learner_a = _train(ci_config, tmp_path, "full")
    resumed, learner_b = _train(ci_config, tmp_path, "resumed", stop_after=2)
    a, b = pd.read_csv(full.train_log), pd.read_csv(resumed.train_log)
    columns = [c for c in a.columns if c not in TIMING_COLUMNS]
    assert len(a) == schedule(ci_config).num_updates == 4
    pd.testing.assert_frame_equal(a[columns], b[columns])
    pd.testing.assert_frame_equal(pd.read_csv(full.policy_log), pd.read_csv(resumed.policy_log))
    for key, value in learner_a.policy.state_dict().items():
        assert torch.equal(value, learner_b.policy.state_dict()[key]), key
    assert resumed.done.exists()


@pytest.mark.parametrize("agent", ["aflan", "npae", "npa", "npe"])
def test_every_llm_agent_resumes_exactly(agent, ci_config, tmp_path):
    """The other LLM agents (§B.4): two updates, killed after the first, equal the full run."""
    # The ci preset trains only gflan and npae; the variant follows the agent name (heads.py).
    config = dataclasses.replace(ci_config, agent=agent, total_frames=32)
    full, learner_a = _train(config, tmp_path, "full")
    resumed, learner_b = _train(config, tmp_path, "resumed", stop_after=1)
    a, b = pd.read_csv(full.train_log), pd.read_csv(resumed.train_log)
    columns = [c for c in a.columns if c not in TIMING_COLUMNS]
    assert len(a) == schedule(config).num_updates == 2 and (a["agent"] == agent).all()
    pd.testing.assert_frame_equal(a[columns], b[columns])
    for key, value in learner_a.policy.state_dict().items():
        assert torch.equal(value, learner_b.policy.state_dict()[key]), key


def test_log_rows_past_the_checkpoint_are_dropped_on_resume(ci_config, tmp_path):
    paths, _ = _train(ci_config, tmp_path, "extra", stop_after=2)
    log = paths.train_log.read_text()
    last = log.splitlines()[-1]
    # simulate a kill after the log write of update 5 but before its checkpoint
    paths.train_log.write_text(log + last.replace(",4,", ",5,", 1) + "\n")
    learner = LLMPPOLearner(ci_config)
    train(ci_config, paths, learner, progress=False)
    assert pd.read_csv(paths.train_log)["update"].tolist() == [1, 2, 3, 4]


def test_a_checkpoint_of_other_settings_is_set_aside_and_the_run_starts_over(ci_config, tmp_path,
                                                                              capfd):
    paths = RunPaths.for_run(tmp_path / "r", tmp_path / "w", "mixed", "gflan", 1)
    train(ci_config, paths, LLMPPOLearner(ci_config), progress=False, stop_after=2)
    moved = dataclasses.replace(ci_config, work_dir="elsewhere", preset="renamed")
    train(moved, paths, LLMPPOLearner(moved), progress=False, stop_after=3)  # folders only: resumes
    assert "config changed" not in capfd.readouterr().err
    assert pd.read_csv(paths.train_log)["update"].tolist() == [1, 2, 3]

    changed = dataclasses.replace(ci_config, ppo=dataclasses.replace(ci_config.ppo, lr=1e-3))
    train(changed, paths, LLMPPOLearner(changed), progress=False)
    err = capfd.readouterr().err
    assert "config changed" in err and "ppo" in err and str(paths.checkpoint) in err
    assert len(list(paths.work.glob("checkpoint.pt.*.stale"))) == 1
    fresh, _ = _train(changed, tmp_path, "fresh")
    restarted, from_scratch = pd.read_csv(paths.train_log), pd.read_csv(fresh.train_log)
    columns = [c for c in restarted.columns if c not in TIMING_COLUMNS]
    pd.testing.assert_frame_equal(restarted[columns], from_scratch[columns])


def test_training_can_mirror_its_log_into_tensorboard(ci_config, tmp_path):
    pytest.importorskip("tensorboard")
    paths = RunPaths.for_run(tmp_path / "results", tmp_path / "work", ci_config.experiment,
                             ci_config.agent, ci_config.seed)
    learner = LLMPPOLearner(ci_config)
    try:
        train(ci_config, paths, learner, stop_after=1, progress=False, tensorboard=True)
    finally:
        learner.close()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(paths.results / "tensorboard"))
    events.Reload()
    logged = pd.read_csv(paths.train_log)
    scalars = events.Scalars("train/loss")
    assert [e.step for e in scalars] == list(logged["frames"])
    assert [e.value for e in scalars] == pytest.approx(list(logged["loss"]), rel=1e-6)


def test_corrupt_checkpoint_is_named(ci_config, tmp_path):
    paths = RunPaths.for_run(tmp_path / "r", tmp_path / "w", "mixed", "gflan", 1)
    paths.checkpoint.parent.mkdir(parents=True)
    paths.checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=str(paths.checkpoint)):
        train(ci_config, paths, LLMPPOLearner(ci_config), progress=False)


# --- data parallelism --------------------------------------------------------------------

def _fixed_batch():
    goals = [k % 6 for k in range(24)]
    prompts = one_step_prompts(goals)
    generator = torch.Generator().manual_seed(3)
    actions = torch.randint(0, 6, (24,), generator=generator)
    return RolloutBatch(prompts, actions, torch.full((24,), -1.79), torch.zeros(24),
                        (actions == torch.tensor(goals)).float() - 0.2)


def _update_once(models_dir, micro_batch_size=None, minibatch_size=8, checkpointing=False):
    pol = policy(models_dir)
    optimizer = torch.optim.Adam(pol.parameters(), lr=1e-3, eps=1e-5)
    ppo = PPOConfig(lr=1e-3, epochs=2, minibatch_size=minibatch_size,
                    micro_batch_size=micro_batch_size, gradient_checkpointing=checkpointing)
    losses = ppo_update(pol, optimizer, _fixed_batch(), list(ACTIONS), ppo,
                        torch.Generator().manual_seed(5), torch.device("cpu"))
    return pol.state_dict(), losses


def _distributed_worker(rank, world_size, port, models_dir, out, micro_batch_size, minibatch_size):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size)
    try:
        state, losses = _update_once(models_dir, micro_batch_size, minibatch_size)
        if rank == 0:
            torch.save({"state": state, "losses": losses}, out)
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("micro_batch_size, minibatch_size", [(None, 8), (3, 7)])
def test_two_gloo_processes_give_the_single_process_update(models_dir, tmp_path, micro_batch_size,
                                                            minibatch_size):
    """DDP over two processes equals one process; with minibatches of 7 in micro-batches of 3,
    rank 0's share of 4 takes two micro-steps and rank 1's share of 3 one, plus a zero-weight
    pass that joins the gradient reduction (the last minibatch of 3 splits 2 and 1)."""
    policy(models_dir)  # build tiny-t5 once before the workers start
    single_state, single_losses = _update_once(models_dir, micro_batch_size, minibatch_size)
    out = tmp_path / "dp.pt"
    mp.spawn(_distributed_worker, args=(2, _free_port(), models_dir, str(out), micro_batch_size,
                                        minibatch_size), nprocs=2)
    result = torch.load(out, weights_only=False)
    for key, value in single_state.items():
        torch.testing.assert_close(result["state"][key], value, rtol=1e-4, atol=1e-5)
    for key, value in single_losses.items():
        assert result["losses"][key] == pytest.approx(value, rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("micro_batch_size, checkpointing", [(3, False), (None, True)])
def test_micro_batches_give_the_whole_minibatch_update(models_dir, micro_batch_size, checkpointing):
    """Gradient accumulation over chunks of 3, 3 and 2 equals one pass over the minibatch of 8;
    so does recomputing activations (gradient checkpointing)."""
    whole_state, whole_losses = _update_once(models_dir)
    micro_state, micro_losses = _update_once(models_dir, micro_batch_size, checkpointing=checkpointing)
    for key, value in whole_state.items():
        torch.testing.assert_close(micro_state[key], value, rtol=1e-4, atol=1e-6)
    for key, value in whole_losses.items():
        assert micro_losses[key] == pytest.approx(value, rel=1e-5, abs=1e-6)
    assert any(not torch.equal(whole_state[k], v) for k, v in policy(models_dir).state_dict().items())


def test_gradient_checkpointing_recomputes_layers_without_dropout(models_dir):
    """With checkpointing, a layer's inner forward runs again during backward; dropout stays off."""
    pol = policy(models_dir)
    inner = pol.llm.encoder.block[0].layer[0]
    calls = []
    inner.register_forward_hook(lambda *_: calls.append(1))
    prompts = one_step_prompts([0, 1])
    for enabled, expected in ((False, 1), (True, 2)):
        pol.set_gradient_checkpointing(enabled)
        calls.clear()
        pol(prompts, [list(ACTIONS)] * 2).logits.sum().backward()
        assert len(calls) == expected
    assert not any(m.training for m in pol.llm.modules() if isinstance(m, torch.nn.Dropout))
    pol.set_gradient_checkpointing(False)


# --- learning -----------------------------------------------------------------------------

def test_gflan_learns_a_one_step_task_where_the_goal_names_the_action(models_dir):
    """Acceptance (issue 3): >= 0.9 success within about a minute of CPU."""
    pol = policy(models_dir)
    optimizer = torch.optim.Adam(pol.parameters(), lr=3e-4, eps=1e-5)
    ppo = PPOConfig(lr=3e-4, epochs=4, minibatch_size=16)
    generator, minibatches = torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)
    success = 0.0
    for iteration in range(40):
        goals = torch.randint(0, 6, (64,), generator=generator)
        prompts = one_step_prompts(goals.tolist())
        with torch.no_grad():
            output = pol(prompts, [list(ACTIONS)] * 64)
        actions = sample_actions(output.logits, generator)
        logprobs = torch.distributions.Categorical(logits=output.logits).log_prob(actions)
        rewards = (actions == goals).float()
        batch = RolloutBatch(prompts, actions, logprobs, output.values, rewards - output.values)
        ppo_update(pol, optimizer, batch, list(ACTIONS), ppo, minibatches, torch.device("cpu"))
        if iteration % 5 == 4:
            goals = torch.randint(0, 6, (200,), generator=generator)
            with torch.no_grad():
                output = pol(one_step_prompts(goals.tolist()), [list(ACTIONS)] * 200)
            success = (sample_actions(output.logits, generator) == goals).float().mean().item()
            if success >= 0.9:
                break
    print(f"one-step task success {success:.2f} after {iteration + 1} PPO updates")
    assert success >= 0.9


# --- acting on test sets ----------------------------------------------------------------

class _RecordingPolicy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, prompts, candidates):
        self.calls.append((prompts, candidates))
        from glam_bench.llm.heads import PolicyOutput
        return PolicyOutput(torch.zeros(len(prompts), len(candidates[0])), torch.zeros(len(prompts)))


@pytest.mark.parametrize("test, expected_candidate, text", [
    ("synonym_actions", "move ahead", "Possible action of the agent: rotate left"),
    ("invented_words", "go forward", "Goal of the agent: go to the"),
    ("french", "aller tout droit", "Actions possibles pour l'agent:"),
])
def test_llm_agent_honours_the_test_set(test, expected_candidate, text):
    test_set = get_test_set(test)
    vec = make_vector_env(test_set.env_for("BabyAI-Text-MixedTrainLocal-v0"), 2)
    recorder = _RecordingPolicy()
    agent = LLMAgent(recorder, 2, 3, test_set, ACTIONS, seed=0, device=torch.device("cpu"),
                     name="gflan")
    run_episodes(vec, agent, 2, env_seeds(1, 2, "test"), progress=False)
    prompts, candidates = recorder.calls[0]
    assert expected_candidate in candidates[0]
    assert text in prompts[0]
    if test == "invented_words":
        words = " ".join(p.split("\n", 1)[1] for p in prompts)
        assert not any(w in words.split() for w in ("red", "key", "ball", "box"))


def test_llm_agent_scores_only_the_envs_whose_episodes_still_count():
    """2 episodes on 3 envs: env 2 is never scored, envs 0 and 1 only until their episode ends."""
    vec = make_vector_env("BabyAI-Text-GoToLocal-v0", 3)
    recorder = _RecordingPolicy()
    agent = LLMAgent(recorder, 3, 3, get_test_set("no_change"), ACTIONS, seed=0,
                     device=torch.device("cpu"), name="gflan")
    episodes = run_episodes(vec, agent, 2, env_seeds(1, 3, "test"), progress=False)
    vec.close()
    scored_rows = [len(prompts) for prompts, _ in recorder.calls]
    lengths = sorted(episode.length for episode in episodes)
    assert scored_rows[0] == 2 and set(scored_rows) <= {1, 2}
    assert sum(scored_rows) == sum(lengths) and len(scored_rows) == lengths[-1]
    assert agent.counted_envs is None


def test_zero_shot_is_never_trained(ci_config):
    with pytest.raises(ValueError, match="never trained"):
        LLMPPOLearner(dataclasses.replace(ci_config, agent="zero-shot"))


#: The easy BabyAI-Text configuration of the learning test. Measured (seed 1, 600 test
#: episodes each, 32.6 min wall on the shared, heavily loaded 2-core machine): trained 0.483,
#: the same policy before training 0.242, random 0.467. The earlier record, 0.615 against
#: random's 0.450 on 200 episodes, did not hold up: after 30 updates the policy has learned
#: (+0.24, about 9 standard errors) but is only level with random. GoToRedBall
#: (the mission never changes, §A.5) with the restricted action space of §E.5 (turn left,
#: turn right, go forward: all GoToRedBall needs), one observation in the prompt, the
#: logprob scorer, 16 envs x 32 frames per update, 4 epochs of minibatch 32, lr 1e-3.
#: Rewards are not scaled (reward_scale 1 instead of 20): with tiny-t5's random weights the
#: first rollouts' large all-positive advantages collapse the policy onto one action
#: before the value head has learned anything. With the canonical six actions the same
#: budget gives 0.46 against 0.35: tiny-t5's random weights score the one-token actions
#: (drop, toggle) far above the others, so exploration starts badly skewed.
EASY_LEVEL_UPDATES = 30
#: 300 test episodes each keep the test's CI time down; at the rates above the trained-vs-before
#: margin is then about 6 standard errors (0.24 against 3 x 0.038).
EASY_LEVEL_EPISODES = 300


@pytest.mark.slow
def test_gflan_learns_on_an_easy_level(models_dir):
    """Success above the same policy's before training by at least 3 standard errors of the
    difference, and not below the random agent's by more than 3 (300 test episodes each)."""
    num_envs, frames_per_env = 16, 32
    config = RunConfig(
        experiment="learn", agent="gflan", seed=1, env="BabyAI-Text-GoToRedBall-v0", preset="test",
        model="tiny-t5", scorer="logprob", nbr_obs=1, action_space="restricted",
        num_envs=num_envs, frames_per_env=frames_per_env,
        total_frames=num_envs * frames_per_env * EASY_LEVEL_UPDATES, reward_scale=1.0,
        value_head_hidden=64, device="cpu", models_dir=models_dir,
        ppo=PPOConfig(lr=1e-3, epochs=4, minibatch_size=32),
    )
    learner = LLMPPOLearner(config)
    untrained = copy.deepcopy(learner.state_dict())  # the same policy before training
    for _ in range(schedule(config).num_updates):  # the loop of train(), without its per-update checkpoints
        learner.update()
    state = learner.state_dict()
    learner.close()

    episodes, seeds = EASY_LEVEL_EPISODES, env_seeds(1, num_envs, "test")
    vector_env = make_vector_env(config.env, num_envs)
    try:
        def rate(agent) -> float:
            return success_rate(run_episodes(vector_env, agent, episodes, seeds, progress=False))
        test_set = get_test_set("no_change")
        trained = rate(build_agent(config, state, vector_env, test_set, seed=1))
        before = rate(build_agent(config, untrained, vector_env, test_set, seed=1))
        rand = rate(RandomAgent(num_envs, len(ACTION_SPACES["restricted"]), seed=1))
    finally:
        vector_env.close()
    print(f"\ngflan (tiny-t5) on GoToRedBall after {config.total_frames} frames: success "
          f"{trained:.3f}; same policy before training {before:.3f}; random {rand:.3f} "
          f"({episodes} test episodes each)")
    assert trained - before >= 3 * difference_se(trained, before, episodes)
    assert trained - rand >= -3 * difference_se(trained, rand, episodes)


def difference_se(p: float, q: float, n: int) -> float:
    """Standard error of the difference of two success rates, each over ``n`` episodes."""
    return float(np.sqrt((p * (1 - p) + q * (1 - q)) / n))


def success_rate(episodes) -> float:
    return float(np.mean([episode.success for episode in episodes]))
