"""Environment cost: the text step against a raw minigrid step, and vector throughput.

Run: ``pytest -n 0 tests/benchmarks/test_env_speed.py -s --benchmark-enable``.
"""

import gymnasium
import minigrid  # noqa: F401  (registers the raw BabyAI levels)
import numpy as np
import pytest

from glam_bench.agents import BotAgent
from glam_bench.envs import env_seeds, make_env, make_vector_env
from tests.benchmarks.timing import interleaved_ratio, per_call_seconds

pytestmark = pytest.mark.benchmark(group="env")


def stepper(env, seed: int = 1):
    """A function doing one step with a fixed random action stream, resetting at episode end."""
    env.reset(seed=seed)
    actions = iter(np.random.default_rng(0).integers(0, 6, size=10**7).tolist())

    def step():
        _, _, terminated, truncated, _ = env.step(next(actions))
        if terminated or truncated:
            env.reset()
    return step


def test_text_step_costs_at_most_1_5x_a_raw_minigrid_step(benchmark):
    raw = stepper(gymnasium.make("BabyAI-GoToLocal-v0"))
    text = stepper(make_env("BabyAI-Text-GoToLocal-v0"))
    text_s, raw_s, ratio = interleaved_ratio(text, raw, calls=400)
    benchmark.extra_info.update(text_step_us=text_s * 1e6, raw_step_us=raw_s * 1e6, ratio=ratio)
    print(f"\ntext step {text_s * 1e6:.1f} us, raw minigrid step {raw_s * 1e6:.1f} us, "
          f"ratio {ratio:.2f} (limit 1.5)")
    benchmark(text)
    assert ratio <= 1.5


def vector_steps_per_second(num_envs: int, mode: str, steps: int) -> float:
    vec = make_vector_env("BabyAI-Text-MixedTrainLocal-v0", num_envs, vectorization=mode)
    bot = BotAgent(vec)
    observations, _ = vec.reset(seed=env_seeds(1, num_envs))

    def step():
        nonlocal observations
        observations, *_ = vec.step(bot.act(observations))
    step()  # warm-up (subprocess start for async)
    seconds = per_call_seconds(step, steps)
    vec.close()
    return num_envs / seconds


def test_vector_throughput_with_the_bot(benchmark):
    single = vector_steps_per_second(1, "sync", 400)
    sync = vector_steps_per_second(32, "sync", 40)
    asynchronous = vector_steps_per_second(32, "async", 40)
    benchmark.extra_info.update(single_env_sps=single, sync32_sps=sync, async32_sps=asynchronous)
    print(f"\nenv steps/s with the bot acting (MixedTrainLocal): single env {single:.0f}, "
          f"32 sync {sync:.0f}, 32 async {asynchronous:.0f}")
    benchmark.pedantic(lambda: None, rounds=1)
    # Batching 32 envs in one process must not cost more than half the single-env rate.
    assert sync >= 0.5 * single
