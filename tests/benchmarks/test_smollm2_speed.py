"""CPU cost of SmolLM2-135M as a GLAM policy, as ratios to the tiny models at the same batch geometry.

Acting (one policy pass, no gradients) and one PPO minibatch (policy pass
with gradients, backward, Adam step) on the same real BabyAI-Text prompts with
6 candidates, timed in one run for SmolLM2 fully fine-tuned, SmolLM2 with LoRA
(r 8 on q_proj/v_proj, the smollm2 preset's adapter), tiny-t5 and tiny-gpt2 in
interleaved rounds (medians kept); frames/s are printed, only ratios are
asserted (DESIGN.md). Peak memory is the process's maximum resident set size
once every model has done one update (SmolLM2 dominates it: weights,
gradients and Adam's two moments in fp32).

Two assertions. The causal scorer's shape: a PPO minibatch (forward with
gradients + backward, about 3 forwards of work) costs SmolLM2 well under 6 of
its acting passes; a scorer that, say, recomputed the prompt per candidate in
the gradient pass would break it. LoRA's saving: its minibatch skips the frozen
weights' gradients and their Adam step, so it must cost less than full
fine-tuning's; an adapter that left the base trainable would not.

Run: ``GLAM_BENCH_MODELS_DIR=work/models pytest -n 0 -s --benchmark-enable -m slow
tests/benchmarks/test_smollm2_speed.py`` (a few minutes on 2 busy cores).
"""

from __future__ import annotations

import resource
import statistics

import pytest
import torch

from glam_bench.runtime.config import AdapterConfig
from glam_bench.llm.heads import LLMPolicy
from glam_bench.paper.vocabulary import ACTIONS
from tests.benchmarks.timing import per_call_seconds
from tests.llm_fixtures import smollm2_models_dir, tiny_models_dir  # noqa: F401  (fixtures)
from tests.test_smollm2 import env_prompts

pytestmark = [pytest.mark.slow, pytest.mark.benchmark(group="smollm2")]

BATCH = 4  # prompts per acting step and per PPO minibatch, the same for every model
ROUNDS = 3


SMOLLM2, LORA, TINY = "smollm2-135m", "smollm2-135m+lora", ("tiny-t5", "tiny-gpt2")


def _policy(name: str, models_dir, adapter: AdapterConfig | None = None) -> LLMPolicy:
    return LLMPolicy.from_pretrained(name, "gflan", n_actions=6, head_hidden=1024, models_dir=models_dir,
                                     seed=1, adapter=adapter)


def _steps(policy: LLMPolicy, prompts: list[str]):
    candidates = [list(ACTIONS)] * len(prompts)
    optimizer = torch.optim.Adam([p for p in policy.parameters() if p.requires_grad], lr=1e-6)

    @torch.no_grad()
    def act():
        return policy(prompts, candidates)

    def update():
        optimizer.zero_grad()
        output = policy(prompts, candidates)
        loss = -output.logits.log_softmax(-1)[:, 0].mean() + output.values.square().mean()
        loss.backward()
        optimizer.step()

    return act, update


def test_smollm2_acting_and_update_cost_relative_to_the_tiny_models(benchmark, smollm2_models_dir,
                                                                    tiny_models_dir):
    prompts = env_prompts("BabyAI-Text-GoToLocal-v0", 1)[:BATCH]
    steps = {SMOLLM2: _steps(_policy(SMOLLM2, smollm2_models_dir), prompts),
             LORA: _steps(_policy(SMOLLM2, smollm2_models_dir, AdapterConfig(r=8, alpha=16)), prompts)}
    steps.update({name: _steps(_policy(name, tiny_models_dir), prompts) for name in TINY})
    for _, update in steps.values():
        update()  # Adam's state allocated before timing
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = {(name, kind): [] for name in steps for kind in ("acting", "PPO minibatch")}
    for _ in range(ROUNDS):  # interleaved, so machine noise hits every model alike
        for name, (act, update) in steps.items():
            times[name, "acting"].append(per_call_seconds(act, 1))
            times[name, "PPO minibatch"].append(per_call_seconds(update, 1))
    seconds = {key: statistics.median(values) for key, values in times.items()}
    print()
    for kind in ("acting", "PPO minibatch"):
        for big_name in (SMOLLM2, LORA):
            big = seconds[big_name, kind]
            for tiny_name in TINY:
                small = seconds[tiny_name, kind]
                print(f"{kind:14} {BATCH} prompts x 6 actions: {big_name:17} {BATCH / big:6.2f} frames/s, "
                      f"{tiny_name:9} {BATCH / small:7.1f} frames/s, {big / small:6.1f}x as long")
                benchmark.extra_info[f"{kind} {big_name} vs {tiny_name}"] = big / small
    lora_over_full = seconds[LORA, "PPO minibatch"] / seconds[SMOLLM2, "PPO minibatch"]
    print(f"PPO minibatch, LoRA / full fine-tuning = {lora_over_full:.2f}; acting, LoRA / full = "
          f"{seconds[LORA, 'acting'] / seconds[SMOLLM2, 'acting']:.2f}")
    update_over_act = seconds[SMOLLM2, "PPO minibatch"] / seconds[SMOLLM2, "acting"]
    print(f"smollm2-135m: PPO minibatch / acting = {update_over_act:.2f}; peak resident memory of the "
          f"process after every model's first update: {peak_mib:.0f} MiB")
    benchmark.extra_info.update(peak_mib=peak_mib, update_over_act=update_over_act,
                                lora_over_full=lora_over_full)
    benchmark.pedantic(steps[SMOLLM2][0], rounds=1, iterations=1)
    assert update_over_act < 6
    assert lora_over_full < 0.95, f"a LoRA minibatch cost {lora_over_full:.2f} of a full one"
