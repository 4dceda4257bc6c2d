"""Levels: missions, task-kind sampling, seeding, the gymnasium contract, vector envs (§A.4–§A.6)."""

import collections

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from glam_bench.agents import BotAgent, RandomAgent
from glam_bench.envs import LEVELS, UnknownEnvironmentError, env_seeds, make_env, make_vector_env
from glam_bench.envs.levels import MIXED_TASK_KINDS, TEST_EXCLUDED_PHRASES, TRAIN_EXCLUDED_PHRASES
from glam_bench.rl.episodes import run_episodes

HELD_OUT = TRAIN_EXCLUDED_PHRASES
PAIRS = [f"{c} {t}" for c in ("red", "green", "blue", "purple", "yellow", "grey")
         for t in ("box", "ball", "key", "door")]


def missions(env_id: str, n: int, **kwargs) -> list[tuple[str, str]]:
    env = make_env(env_id, **kwargs)
    out = []
    for seed in range(n):
        obs, info = env.reset(seed=seed)
        out.append((obs["mission"], info["task_kind"]))
    return out


@pytest.fixture(scope="module")
def train_missions():
    return missions("BabyAI-Text-MixedTrainLocal-v0", 2000)


@pytest.fixture(scope="module")
def test_missions():
    return missions("BabyAI-Text-MixedTestLocal-v0", 2000)


def test_train_level_never_mentions_held_out_pairs(train_missions):
    for mission, _ in train_missions:
        assert not any(pair in mission for pair in HELD_OUT), mission


def test_test_level_mentions_only_held_out_pairs(test_missions):
    for mission, _ in test_missions:
        named = [pair for pair in PAIRS if pair in mission]
        assert all(pair in HELD_OUT for pair in named), mission
        assert not any(p in mission for p in TEST_EXCLUDED_PHRASES)
    assert any("door" in m for m, _ in test_missions)


@pytest.mark.parametrize("which", ["train_missions", "test_missions"])
def test_five_task_kinds_uniform_per_episode(which, request):
    kinds = collections.Counter(kind for _, kind in request.getfixturevalue(which))
    assert set(kinds) == set(MIXED_TASK_KINDS)
    for kind in MIXED_TASK_KINDS:
        assert abs(kinds[kind] / 2000 - 0.2) <= 0.03, kinds


def test_mission_surfaces_match_each_task_kind(train_missions):
    patterns = {
        "goto": lambda m: m.startswith("go to ") and "after" not in m,
        "pickup": lambda m: m.startswith("pick up ") and "then" not in m,
        "open": lambda m: m.startswith("open "),
        "putnext": lambda m: m.startswith("put ") and " next to " in m,
        "pick up seq go to": lambda m: (", then go to " in m) or (" after you pick up " in m),
    }
    for mission, kind in train_missions:
        assert patterns[kind](mission), (kind, mission)
    forms = {", then go to ": 0, " after you pick up ": 0}
    for mission, kind in train_missions:
        for form in forms:
            forms[form] += form in mission
    assert all(count > 100 for count in forms.values()), forms


def test_open_task_doors_and_colour_naming(train_missions, test_missions):
    train_open = [m for m, k in train_missions if k == "open"]
    assert "open the door" in train_open
    assert {m for m in train_open if m != "open the door"} <= {
        f"open the {c} door" for c in ("yellow", "green", "blue", "purple")}
    assert {m for m, k in test_missions if k == "open"} == {"open the red door", "open the grey door"}


def test_new_composition_level_both_forms():
    ms = [m for m, _ in missions("BabyAI-Text-PickUpSeqPickUpLocal-v0", 200)]
    assert all(m.startswith("pick up ") for m in ms)
    assert any(", then pick up " in m for m in ms)
    assert any(" after you pick up " in m for m in ms)


@pytest.mark.parametrize("env_id, kind, steps", [
    ("BabyAI-Text-GoToLocal-v0", "goto", 64),
    ("BabyAI-Text-GoToFrench-v0", "goto", 64),
    ("BabyAI-Text-PickupLocal-v0", "pickup", 64),
    ("BabyAI-Text-PickUpSeqPickUpLocal-v0", "pick up seq pick up", 128),
])
def test_max_steps_per_task(env_id, kind, steps):
    env = make_env(env_id)
    _, info = env.reset(seed=3)
    assert info["task_kind"] == kind
    assert env.unwrapped.max_steps == steps


def test_max_steps_per_mixed_task_kind():
    expected = {"goto": 64, "pickup": 64, "open": 128, "putnext": 128, "pick up seq go to": 128}
    env = make_env("BabyAI-Text-MixedTrainLocal-v0")
    seen = {}
    for seed in range(60):
        _, info = env.reset(seed=seed)
        seen[info["task_kind"]] = env.unwrapped.max_steps
    assert seen == expected


@pytest.mark.parametrize("env_id, count", [
    ("BabyAI-Text-GoToLocalS8N4-v0", 4), ("BabyAI-Text-GoToLocal-v0", 8),
    ("BabyAI-Text-GoToLocalS8N16-v0", 16), ("BabyAI-Text-GoToRedBall-v0", 8),
])
def test_object_counts(env_id, count):
    env = make_env(env_id).unwrapped
    env.reset(seed=5)
    objects = [c for c in env.grid.grid if c is not None and c.type in ("key", "ball", "box")]
    assert len(objects) == count


def test_gotoredball_mission_is_fixed():
    assert {m for m, _ in missions("BabyAI-Text-GoToRedBall-v0", 20)} <= {
        "go to the red ball", "go to a red ball"}


def test_french_level_renders_french_but_keeps_english_mission():
    obs, _ = make_env("BabyAI-Text-GoToFrench-v0").reset(seed=1)
    assert obs["mission"].startswith("go to ")
    assert all(s.startswith(("Tu vois", "Tu portes")) for s in obs["descriptions"])


def test_reward_formula_on_success():
    env = make_env("BabyAI-Text-GoToLocal-v0")
    vector = make_vector_env("BabyAI-Text-GoToLocal-v0", 1)
    episodes = run_episodes(vector, BotAgent(vector), 5, env_seeds(1, 1, "test"), progress=False)
    for episode in episodes:
        assert episode.episode_return == pytest.approx(1 - 0.9 * episode.length / 64)
    env.close()


# --- Seeding (§A.6). ------------------------------------------------------------

def rollout(env_id: str, seed: int, steps: int = 30, **kwargs):
    env = make_env(env_id, **kwargs)
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(0)
    trace = [(obs["mission"], obs["descriptions"], env.unwrapped.grid.encode().tobytes())]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(int(rng.integers(0, 6)))
        trace.append((obs["mission"], obs["descriptions"], reward))
        if terminated or truncated:
            obs, info = env.reset()
            trace.append((obs["mission"], obs["descriptions"]))
    return trace


@pytest.mark.parametrize("env_id", ["BabyAI-Text-MixedTrainLocal-v0", "BabyAI-Text-GoToLocal-v0"])
def test_same_seed_same_episode_different_seeds_differ(env_id):
    assert rollout(env_id, 7) == rollout(env_id, 7)
    assert rollout(env_id, 7) != rollout(env_id, 8)


def test_instance_task_sampling_keeps_one_kind_drawn_from_the_seed():
    def kinds(seed):
        env = make_env("BabyAI-Text-MixedTrainLocal-v0", task_sampling="instance")
        _, info = env.reset(seed=seed)
        out = [info["task_kind"]]
        for _ in range(10):
            out.append(env.reset()[1]["task_kind"])
        return out
    for seed in range(5):
        assert len(set(kinds(seed))) == 1
        assert kinds(seed) == kinds(seed)
    assert len({kinds(seed)[0] for seed in range(40)}) == 5


def test_task_kinds_can_be_restricted_and_bad_options_are_explained():
    env = make_env("BabyAI-Text-MixedTrainLocal-v0", task_kinds=["putnext"])
    assert {env.reset(seed=s)[1]["task_kind"] for s in range(10)} == {"putnext"}
    with pytest.raises(ValueError, match="not offered"):
        make_env("BabyAI-Text-GoToLocal-v0", task_kinds=["open"])
    with pytest.raises(ValueError, match="task_sampling"):
        make_env("BabyAI-Text-GoToLocal-v0", task_sampling="sometimes")


def test_env_seeds_scheme():
    assert env_seeds(2, 3, "train") == [200, 201, 202]
    assert env_seeds(2, 3, "test") == [2_000_000_000, 2_000_000_001, 2_000_000_002]


# --- gymnasium contract. ----------------------------------------------------------

@pytest.mark.parametrize("env_id", sorted(LEVELS))
def test_check_env_passes(env_id):
    env = gymnasium.make(env_id).unwrapped
    check_env(env, skip_render_check=True)


def test_observation_contract():
    env = make_env("BabyAI-Text-MixedTrainLocal-v0")
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"image", "direction", "mission", "descriptions"}
    assert obs["image"].shape == (7, 7, 3) and obs["image"].dtype == np.uint8
    assert isinstance(obs["descriptions"], tuple)
    assert env.observation_space.contains(obs)


def test_unknown_environment_lists_valid_ids():
    with pytest.raises(UnknownEnvironmentError, match="BabyAI-Text-MixedTrainLocal-v0"):
        make_env("BabyAI-Text-Nope-v0")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vector_env_same_step_autoreset_and_seeding(mode):
    vec = make_vector_env("BabyAI-Text-GoToLocal-v0", 4, vectorization=mode)
    episodes = run_episodes(vec, BotAgent(vec), 8, env_seeds(1, 4, "train"), progress=False)
    vec.close()
    single = make_env("BabyAI-Text-GoToLocal-v0")
    obs, _ = single.reset(seed=env_seeds(1, 4, "train")[2])
    vec = make_vector_env("BabyAI-Text-GoToLocal-v0", 4, vectorization=mode)
    batch, _ = vec.reset(seed=env_seeds(1, 4, "train"))
    vec.close()
    assert batch["mission"][2] == obs["mission"]
    assert batch["descriptions"][2] == obs["descriptions"]
    assert len(episodes) == 8 and all(e.success for e in episodes)


# --- Reference agents (§B.7). -----------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("env_id", [
    "BabyAI-Text-MixedTrainLocal-v0", "BabyAI-Text-MixedTestLocal-v0",
    "BabyAI-Text-PickUpSeqPickUpLocal-v0",
])
def test_bot_succeeds_in_99_percent_of_500_episodes(env_id):
    vec = make_vector_env(env_id, 8)
    episodes = run_episodes(vec, BotAgent(vec), 500, env_seeds(1, 8, "test"), progress=False)
    vec.close()
    rate = np.mean([e.success for e in episodes])
    print(f"bot success on {env_id}: {rate:.3f}")
    assert len(episodes) == 500 and rate >= 0.99


@pytest.mark.slow
def test_random_agent_success_rate_on_mixed_is_near_the_paper_baseline():
    vec = make_vector_env("BabyAI-Text-MixedTrainLocal-v0", 8)
    episodes = run_episodes(vec, RandomAgent(8, seed=1), 500, env_seeds(1, 8, "test"),
                            progress=False)
    vec.close()
    rate = np.mean([e.success for e in episodes])
    print(f"random success on MixedTrainLocal: {rate:.3f} (paper: about 0.15)")
    assert 0.05 <= rate <= 0.30


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_step_that_ends_an_episode_returns_the_next_episodes_first_observation(mode):
    """Same-step autoreset (§A.4, the authors' ParallelEnv): the observation returned with
    ``terminated`` is already the next episode's first; the finished one's last observation is
    in ``info["final_obs"]``. Gymnasium's default next-step reset returns the last one."""
    seed = env_seeds(3, 1, "train")[0]
    vec = make_vector_env("BabyAI-Text-GoToLocal-v0", 1, vectorization=mode)
    bot = BotAgent(vec)
    observations, _ = vec.reset(seed=[seed])
    actions = []
    for _ in range(64):
        action = bot.act(observations)
        actions.append(int(action[0]))
        observations, reward, terminated, truncated, infos = vec.step(action)
        if terminated[0] or truncated[0]:
            break
    vec.close()
    assert terminated[0] and reward[0] > 0
    # The same episode replayed on a single env, then the env's own reset (no seed), which is
    # what the next episode is in both autoreset modes.
    single = make_env("BabyAI-Text-GoToLocal-v0")
    single.reset(seed=seed)
    for action in actions:
        last, single_reward, single_terminated, _, _ = single.step(action)
    assert single_terminated and single_reward == pytest.approx(reward[0])
    first_of_next, _ = single.reset()
    assert observations["mission"][0] == first_of_next["mission"]
    assert tuple(observations["descriptions"][0]) == tuple(first_of_next["descriptions"])
    assert infos["final_obs"][0]["descriptions"] == last["descriptions"]
    assert (observations["mission"][0], tuple(observations["descriptions"][0])) != (
        last["mission"], tuple(last["descriptions"]))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_render_text_off_drops_only_the_descriptions(mode):
    """Without text the envs give the same images, missions, rewards and ends, minus descriptions."""
    seeds, rng = env_seeds(3, 4), np.random.default_rng(0)
    with_text = make_vector_env("BabyAI-Text-MixedTrainLocal-v0", 4, mode)
    without = make_vector_env("BabyAI-Text-MixedTrainLocal-v0", 4, mode, render_text=False)
    try:
        assert "descriptions" not in without.single_observation_space.spaces
        a, _ = with_text.reset(seed=seeds)
        b, _ = without.reset(seed=seeds)
        for step in range(60):
            assert "descriptions" in a and "descriptions" not in b
            assert set(b) == set(a) - {"descriptions"}
            for key in b:
                assert np.array_equal(np.asarray(a[key]), np.asarray(b[key])), (step, key)
            actions = rng.integers(0, 6, size=4)
            a, *rest_a = with_text.step(actions)
            b, *rest_b = without.step(actions)
            for x, y in zip(rest_a[:3], rest_b[:3]):
                assert np.array_equal(x, y)
    finally:
        with_text.close()
        without.close()


def test_symbolic_ppo_renders_no_text_and_drrn_does(tmp_path):
    """Only agents that read the descriptions get envs that render them."""
    from glam_bench.agents.families import reads_text
    from glam_bench.agents.symbolic_ppo.learner import build_learner
    from glam_bench.runtime.config import RunConfig

    assert not reads_text("symbolic-ppo")
    assert reads_text("drrn") and reads_text("gflan")
    run = RunConfig(experiment="t", agent="symbolic-ppo", seed=1, env="BabyAI-Text-MixedTrainLocal-v0",
                    preset="t", num_envs=2, frames_per_env=20, total_frames=40, device="cpu",
                    models_dir=str(tmp_path))
    learner = build_learner(run)
    try:
        assert "descriptions" not in learner.observations
        assert all(not env.unwrapped.render_text for env in learner.envs.envs)
    finally:
        learner.close()
