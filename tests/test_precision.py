"""The ``precision`` key (issue 12): preset to run config, applied in one place, bf16 drift measured."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from glam_bench.agents.llm_ppo import PromptBook
from glam_bench.runtime.config import ConfigError, resolve_run, study_grid, validate_preset
from glam_bench.pipeline.preset_checks import load_preset
from glam_bench.runtime.devices import autocast
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.llm import tiny
from glam_bench.llm.heads import LLMPolicy
from glam_bench.paper.vocabulary import ACTION_SPACES

CPU = torch.device("cpu")


def test_paper_preset_is_fp32_and_the_key_reaches_the_run():
    preset = load_preset("workflows/config/paper.yaml")
    assert resolve_run(preset, "mixed", "gflan", 1).precision == "fp32"
    preset = copy.deepcopy(preset)
    preset["training"]["precision"] = "bf16"
    assert resolve_run(validate_preset(preset), "mixed", "gflan", 1).precision == "bf16"
    preset["training"]["precision"] = "fp16"
    with pytest.raises(ConfigError, match="precision"):
        validate_preset(preset)


def test_default_and_ci_presets_keep_fp32():
    for name in ("default", "ci"):
        preset = load_preset(f"workflows/config/{name}.yaml")
        agent = study_grid(preset)["mixed"].agents[0]
        assert resolve_run(preset, "mixed", agent, 1).precision == "fp32"


@pytest.mark.parametrize("precision, tf32, dtype", [("fp32", False, torch.float32),
                                                     ("tf32", True, torch.float32),
                                                     ("bf16", False, torch.bfloat16)])
def test_autocast_sets_everything_a_precision_means(precision, tf32, dtype):
    a = torch.randn(4, 4)
    with autocast(CPU, precision):
        assert (a @ a).dtype == dtype
    assert torch.backends.cuda.matmul.allow_tf32 is tf32
    assert torch.backends.cudnn.allow_tf32 is tf32
    autocast(CPU, "fp32")  # leave the process as the other tests expect
    with pytest.raises(ValueError, match="precision"):
        autocast(CPU, "fp16")


def real_prompts(num_envs: int = 4, steps: int = 2) -> list[str]:
    """BabyAI-Text prompts (§B.1) after a few random actions, so memories hold history."""
    candidates = list(ACTION_SPACES["canonical"])
    env = make_vector_env("BabyAI-Text-MixedTrainLocal-v0", num_envs)
    observations, _ = env.reset(seed=env_seeds(1, num_envs))
    book = PromptBook(num_envs, 3, candidates)
    prompts = book.observe(observations)
    rng = np.random.default_rng(0)
    for _ in range(steps - 1):
        actions = rng.integers(0, len(candidates), num_envs)
        book.record(actions.tolist())
        observations, *_ = env.step(actions)
        prompts += book.observe(observations)
    env.close()
    return prompts


@pytest.mark.slow
def test_bf16_drift_from_fp32_on_real_prompts_at_flan_t5_small_shape():
    """bf16 autocast vs fp32 scores of ``random-flan-t5-small`` (Flan-T5-small's shape, random weights).

    Measured (README, "Precision"): largest score difference 0.044, largest PPO ratio drift
    |pi_bf16/pi_fp32 - 1| 0.050 over 8 prompts x 6 actions. Both must be
    non-zero (bf16 really applied) and inside PPO's clip range 0.2.
    """
    candidates = list(ACTION_SPACES["canonical"])
    prompts = real_prompts()
    model, tokenizer = tiny.build_model("random-flan-t5-small")
    policy = LLMPolicy(model, tokenizer, "gflan", len(candidates))
    with torch.no_grad():
        with autocast(CPU, "fp32"):
            fp32 = policy(prompts, [candidates] * len(prompts))
        with autocast(CPU, "bf16"):
            bf16 = policy(prompts, [candidates] * len(prompts))
    score_diff = (bf16.logits - fp32.logits).abs().max().item()
    ratio_drift = (bf16.logits.log_softmax(-1) - fp32.logits.log_softmax(-1)).exp().sub(1).abs().max().item()
    print(f"bf16 vs fp32: largest score difference {score_diff:.4f}, PPO ratio drift {ratio_drift:.4f}")
    assert bf16.logits.dtype == torch.float32  # scores and log-softmax stay float32
    assert 0 < score_diff < 0.5
    assert 0 < ratio_drift < 0.2
