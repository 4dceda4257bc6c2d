"""Batched candidate scoring against the naive one-forward-per-(prompt, candidate) way.

A model of Flan-T5-small's shape (random weights, the tiny tokenizer) scores
BabyAI-Text-like prompts built with ``build_prompt``. Both ways are timed in
the same run and only their ratio is asserted (DESIGN.md, "Performance,
measured as ratios in one run").

Both run on one torch thread, so the ratio measures the work batching saves
rather than how each way copes with a second core that other jobs may be
using (on a busy 2-core machine, two threads make batch-1 forwards many times
slower and would inflate the ratio).

Run: ``pytest -n 0 tests/benchmarks/test_scoring_speed.py -s --benchmark-enable``
(a few minutes on 2 CPU cores; marked slow).
"""

from __future__ import annotations

import time

import pytest
import torch

from glam_bench import vocabulary as V
from glam_bench.llm import tiny
from glam_bench.llm.corpus import random_prompts
from glam_bench.llm.naive_scoring import naive_scores
from glam_bench.llm.scoring import CandidateScorer

pytestmark = [pytest.mark.slow, pytest.mark.benchmark(group="scoring")]

N_ENVS = 32  # prompts scored per acting step (§C: 32 envs)
UPDATE_MINIBATCH = 8  # prompts per PPO minibatch here (the paper: 16 per LLM server, §C)


@pytest.fixture(scope="module")
def flan_t5_small_shape():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tiny.build_model("random-flan-t5-small")
    torch.set_num_threads(threads)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def batched_vs_naive(batched, naive) -> tuple[float, float, object, object]:
    """Seconds of both and their results; the batched way is timed before and after the naive one, best kept."""
    first_s, batched_result = timed(batched)
    naive_s, naive_result = timed(naive)
    return min(first_s, timed(batched)[0]), naive_s, batched_result, naive_result


def test_acting_scores_32_prompts_at_least_4x_faster_than_naive(benchmark, flan_t5_small_shape):
    model, tokenizer = flan_t5_small_shape
    prompts, candidates = random_prompts(N_ENVS, seed=0), [V.ACTIONS] * N_ENVS
    scorer = CandidateScorer(model, tokenizer)

    @torch.no_grad()
    def batched():
        return scorer(prompts, candidates)

    @torch.no_grad()
    def naive():
        return naive_scores(model, tokenizer, prompts, candidates)

    batched_s, naive_s, batched_out, naive_out = batched_vs_naive(batched, naive)
    torch.testing.assert_close(batched_out.scores, naive_out.scores, rtol=1e-4, atol=1e-4)
    ratio = naive_s / batched_s
    benchmark.extra_info.update(batched_s=batched_s, naive_s=naive_s, speedup=ratio)
    print(f"\nacting, {N_ENVS} prompts x 6 actions: batched {batched_s:.2f} s, naive {naive_s:.2f} s, "
          f"speed-up {ratio:.1f}x (limit 4x)")
    benchmark.pedantic(batched, rounds=1, iterations=1)
    assert ratio >= 4


def test_update_forward_backward_at_least_3x_faster_than_naive(benchmark, flan_t5_small_shape):
    model, tokenizer = flan_t5_small_shape
    prompts, candidates = random_prompts(UPDATE_MINIBATCH, seed=1), [V.ACTIONS] * UPDATE_MINIBATCH
    scorer = CandidateScorer(model, tokenizer)
    actions = torch.arange(UPDATE_MINIBATCH) % 6

    def update_step(score):
        """A policy-gradient-shaped loss on the scores, and its backward pass."""
        model.zero_grad(set_to_none=True)
        output = score()
        loss = -torch.log_softmax(output.scores, -1)[torch.arange(UPDATE_MINIBATCH), actions].mean()
        (loss + output.hidden.pow(2).mean()).backward()

    def batched():
        update_step(lambda: scorer(prompts, candidates))

    def naive():
        update_step(lambda: naive_scores(model, tokenizer, prompts, candidates))

    batched_s, naive_s, _, _ = batched_vs_naive(batched, naive)
    ratio = naive_s / batched_s
    benchmark.extra_info.update(batched_s=batched_s, naive_s=naive_s, speedup=ratio)
    print(f"\nupdate, {UPDATE_MINIBATCH} prompts x 6 actions, forward+backward: batched {batched_s:.2f} s, "
          f"naive {naive_s:.2f} s, speed-up {ratio:.1f}x (limit 3x)")
    benchmark.pedantic(batched, rounds=1, iterations=1)
    model.zero_grad(set_to_none=True)
    assert ratio >= 3
