"""CPU cost of SmolLM2-135M as a GLAM policy, as ratios to the tiny models at the same batch geometry.

Acting (one policy pass, no gradients) and one PPO minibatch (policy pass
with gradients, backward, Adam step) on the same real BabyAI-Text prompts with
6 candidates, timed interleaved in one run (``timing.interleaved_ratio``) for
SmolLM2 and for tiny-t5 and tiny-gpt2; frames/s are printed, only ratios are
asserted (DESIGN.md). Peak memory is the process's maximum resident set size
after SmolLM2's update, printed.

The one assertion guards the causal scorer's shape: a PPO minibatch (forward
with gradients + backward, about 3 forwards of work) costs SmolLM2 well under
6 of its acting passes; a scorer that, say, recomputed the prompt per
candidate in the gradient pass would break it.

Run: ``GLAM_BENCH_MODELS_DIR=work/models pytest -n 0 -s --benchmark-enable -m slow
tests/benchmarks/test_smollm2_speed.py`` (a few minutes on 2 busy cores).
"""

from __future__ import annotations

import resource

import pytest
import torch

from glam_bench.llm.heads import LLMPolicy
from glam_bench.vocabulary import ACTIONS
from tests.benchmarks.timing import interleaved_ratio
from tests.llm_fixtures import smollm2_models_dir, tiny_models_dir  # noqa: F401  (fixtures)
from tests.test_smollm2 import env_prompts

pytestmark = [pytest.mark.slow, pytest.mark.benchmark(group="smollm2")]

BATCH = 4  # prompts per acting step and per PPO minibatch, the same for every model


def _policy(name: str, models_dir) -> LLMPolicy:
    return LLMPolicy.from_pretrained(name, "gflan", n_actions=6, head_hidden=1024, models_dir=models_dir, seed=1)


def _steps(policy: LLMPolicy, prompts: list[str]):
    candidates = [list(ACTIONS)] * len(prompts)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-6)

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
    smollm2_act, smollm2_update = _steps(_policy("smollm2-135m", smollm2_models_dir), prompts)
    smollm2_update()  # Adam's state allocated before timing
    print()
    ratios = {}
    for tiny_name in ("tiny-t5", "tiny-gpt2"):
        tiny_act, tiny_update = _steps(_policy(tiny_name, tiny_models_dir), prompts)
        tiny_update()
        for kind, big, small in (("acting", smollm2_act, tiny_act), ("PPO minibatch", smollm2_update, tiny_update)):
            big_s, small_s, ratio = interleaved_ratio(big, small, calls=1, rounds=3)
            ratios[kind, tiny_name] = (big_s, small_s, ratio)
            print(f"{kind:14} {BATCH} prompts x 6 actions: smollm2-135m {BATCH / big_s:7.2f} frames/s, "
                  f"{tiny_name} {BATCH / small_s:8.1f} frames/s, time ratio {ratio:6.1f}x")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process (after SmolLM2's update): {peak_mib:.0f} MiB")
    update_s = ratios["PPO minibatch", "tiny-gpt2"][0]
    act_s = ratios["acting", "tiny-gpt2"][0]
    print(f"smollm2-135m: PPO minibatch / acting = {update_s / act_s:.2f}")
    benchmark.extra_info.update({f"{kind} {name}": r for (kind, name), (_, _, r) in ratios.items()},
                                peak_mib=peak_mib)
    benchmark.pedantic(smollm2_act, rounds=1, iterations=1)
    assert update_s / act_s < 6
