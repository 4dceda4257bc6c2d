"""Does pretraining make PPO sample-efficient? The paper's question (Q1, §B.4) at small scale.

PPO on the one-step task where the goal names the action (``tests/one_step_task.py``),
with SmolLM2-135M-Instruct pretrained and with its random-init twin (the same
architecture, seeded random weights: ``load_model(pretrained=False, seed=1)``),
each fine-tuned fully and with LoRA (r 8, alpha 16, peft's default targets
q_proj, v_proj). Every arm has the same seed, the same value head init and the
same budget: ``BUDGET_UPDATES`` PPO updates of one episode per goal (6 episodes,
one epoch, one minibatch). Learning rates were fixed before any run: LoRA 1e-3
(the LoRA slow test's), full fine-tuning 1e-4 (the usual ratio of about 10
between them); they are not tuned on these results.

Reported (printed, written to ``work/benchmarks/pretraining_sample_efficiency.json``
and to the benchmark's ``extra_info``), whichever way it comes out:
expected success (mean probability of the goal's action over the six goals,
no sampling noise) before each update and at the end, the updates needed to
reach ``THRESHOLD``, and the seconds per update as ratios to pretrained LoRA.
The only assertion is the fairness of the comparison: both fine-tunings of a
base start from the same policy (a fresh LoRA adds exactly zero).

Measured 2026-11-27 (2 shared CPU cores, 13 min in all; update costs are noisy
there: other jobs ran beside it), expected success by update 0..6:

    pretrained/full    0.297 0.369 0.656 0.668 0.667 0.667 0.667  (0.8 not reached)
    pretrained/lora    0.297 0.423 0.644 0.803 0.869 0.897 0.953  (0.8 after 3 updates)
    random-init/full   0.167 0.167 0.167 0.167 0.167 0.167 0.167  (not reached)
    random-init/lora   0.167 0.167 0.167 0.167 0.167 0.167 0.167  (not reached)

A random-init model's policy ignores the goal word, which makes its expected
success exactly 1/6 whatever the action distribution. GoToRedBall is out of
reach on CPU at this size (one PPO update of 16 envs x 32 frames of 3-observation
prompts, projected from the one-step cost, would take about an hour).

Run: ``pytest -n 0 tests/benchmarks/test_pretraining_sample_efficiency.py -s -m slow``
(skipped when the converted SmolLM2 folder is absent: ``glam-bench models fetch smollm2-135m``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from glam_bench.runtime.config import AdapterConfig, PPOConfig
from glam_bench.llm.adapters import apply_adapter
from glam_bench.llm.heads import LLMPolicy
from glam_bench.llm.loading import load_model
from glam_bench.runtime.results import atomic_open
from tests.one_step_task import train_one_step
from tests.llm_fixtures import smollm2_models_dir  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.measurement,
              pytest.mark.benchmark(group="pretraining-efficiency")]

BUDGET_UPDATES = 6
THRESHOLD = 0.8
SEED = 1
LORA = AdapterConfig(kind="lora", r=8, alpha=16)
LEARNING_RATES = {"full": 1e-4, "lora": 1e-3}
ARMS = [(pretrained, tuning) for pretrained in (True, False) for tuning in ("full", "lora")]
OUT = Path("work") / "benchmarks" / "pretraining_sample_efficiency.json"


def build(folder: str, pretrained: bool, tuning: str) -> LLMPolicy:
    """The scoring policy (GFlan's) on pretrained or random-init weights, with or without LoRA."""
    loaded = load_model(folder, pretrained=pretrained, seed=SEED)
    if tuning == "lora":
        apply_adapter(loaded.model, LORA, SEED)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)  # the same value head in every arm
        return LLMPolicy(loaded.model, loaded.tokenizer, "gflan", n_actions=6, head_hidden=64)


def test_pretrained_vs_random_init_sample_efficiency(benchmark, smollm2_models_dir):
    folder = str(smollm2_models_dir / "smollm2-135m")

    def measure() -> dict:
        results = {}
        for pretrained, tuning in ARMS:
            policy = build(folder, pretrained, tuning)
            ppo = PPOConfig(lr=LEARNING_RATES[tuning], epochs=1, minibatch_size=6)
            run = train_one_step(policy, BUDGET_UPDATES, ppo, episodes_per_goal=1, seed=SEED)
            name = f"{'pretrained' if pretrained else 'random-init'}/{tuning}"
            results[name] = {"success": run.success, "updates_to_threshold": run.updates_to(THRESHOLD),
                             "seconds_per_update": sum(run.seconds) / len(run.seconds)}
            print(f"{name}: " + " ".join(f"{s:.3f}" for s in run.success), flush=True)
        return results

    results = benchmark.pedantic(measure, rounds=1, iterations=1)
    reference = results["pretrained/lora"]["seconds_per_update"]
    for arm in results.values():
        arm["update_cost_vs_pretrained_lora"] = arm.pop("seconds_per_update") / reference
    report = {"model": "SmolLM2-135M-Instruct", "task": "one-step, goal names the action",
              "budget_updates": BUDGET_UPDATES, "episodes_per_update": 6, "threshold": THRESHOLD,
              "learning_rates": LEARNING_RATES, "lora": {"r": LORA.r, "alpha": LORA.alpha},
              "seed": SEED, "arms": results}
    benchmark.extra_info.update(report)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(OUT) as handle:
        json.dump(report, handle, indent=2)
    print(f"\nexpected success, threshold {THRESHOLD}, {BUDGET_UPDATES} updates of 6 episodes:")
    for name, arm in results.items():
        reached = arm["updates_to_threshold"]
        print(f"  {name:22s} start {arm['success'][0]:.3f}  end {arm['success'][-1]:.3f}  "
              f"updates to {THRESHOLD}: {reached if reached is not None else 'not reached'}  "
              f"update cost x{arm['update_cost_vs_pretrained_lora']:.2f}")
    for base in ("pretrained", "random-init"):  # a fair start: a fresh LoRA adds exactly zero
        assert results[f"{base}/full"]["success"][0] == pytest.approx(
            results[f"{base}/lora"]["success"][0], abs=1e-5)
