"""Batched candidate scoring against two baselines, timed in the same run on equal terms.

A model of Flan-T5-small's shape (random weights, the tiny tokenizer) scores
BabyAI-Text-like prompts built with ``build_prompt``, with the logprob scorer. Baselines
(``tests/benchmarks/baselines.py``):

* one forward per (prompt, candidate) pair, the obviously correct way;
* the authors' own scheme (lamorel, Feb 2023, §F.3): the encoder once per prompt, the
  decoder on minibatches of 3 candidates. The speed-up over it is what a user of the
  released code gains.

Every way gets the same warm-up call, then ``ROUNDS`` interleaved timings (alternating
which goes first); medians are compared and only ratios are asserted (DESIGN.md,
"Performance, measured as ratios in one run"). All results are checked equal first.

Both run on one torch thread, so the ratio measures the work batching saves
rather than how each way copes with a second core that other jobs may be
using (on a busy 2-core machine, two threads make batch-1 forwards many times
slower and would inflate the ratio).

Run: ``pytest -n 0 tests/benchmarks/test_scoring_speed.py -s --benchmark-enable``
(a few minutes on 2 CPU cores; marked slow).
"""

from __future__ import annotations

import pytest
import torch

from glam_bench.paper import vocabulary as V
from glam_bench.llm import tiny
from glam_bench.llm.corpus import random_prompts
from glam_bench.llm.scoring import CandidateScorer
from tests.benchmarks.baselines import lamorel_feb23, pair_at_a_time
from tests.benchmarks.timing import interleaved_medians

pytestmark = [pytest.mark.slow, pytest.mark.benchmark(group="scoring")]

#: Prompts scored per acting step: half the paper's 32 envs (§C), which halves the test's CI
#: time (177 s at 32); one thread is saturated by either batch (see the measured ratios).
N_ENVS = 16
UPDATE_MINIBATCH = 8  # prompts per PPO minibatch here (the paper: 16 per LLM server, §C)
ROUNDS = 3
#: Limits. Over one pair at a time: the previous benchmark's 4x / 3x. Over lamorel's scheme:
#: 1.0, i.e. never slower than what the authors ran; the measured speed-up is printed and
#: recorded in extra_info (raise the limit to a margin below it once measured on CI).
ACTING_OVER_PAIRS, ACTING_OVER_LAMOREL = 4.0, 1.0
UPDATE_OVER_PAIRS, UPDATE_OVER_LAMOREL = 3.0, 1.0


@pytest.fixture(scope="module")
def flan_t5_small_shape():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tiny.build_model("random-flan-t5-small")
    torch.set_num_threads(threads)


def scores_and_hidden(output) -> tuple[torch.Tensor, torch.Tensor]:
    return output.scores, output.hidden


def speedups(ways: dict, warm_up: dict) -> tuple[dict[str, float], float, float]:
    """Median seconds of the three ways (interleaved) and the two speed-ups of ``batched``."""
    seconds = interleaved_medians(ways, rounds=ROUNDS, warm_up=warm_up)
    return seconds, seconds["pairs"] / seconds["batched"], seconds["lamorel"] / seconds["batched"]


def three_ways(score, batched, pairs, lamorel, prompts, candidates, n_warm: int = 2):
    """The three ways on all prompts, and the same on the first ``n_warm`` as their warm-up."""
    def on(fn, k):
        return lambda: score(lambda: fn(prompts[:k], candidates[:k]))
    n = len(prompts)
    ways = {"batched": on(batched, n), "pairs": on(pairs, n), "lamorel": on(lamorel, n)}
    warm = {"batched": on(batched, n_warm), "pairs": on(pairs, n_warm),
            "lamorel": on(lamorel, n_warm)}
    return ways, warm


def test_acting_scores_16_prompts_faster_than_both_baselines(benchmark, flan_t5_small_shape):
    model, tokenizer = flan_t5_small_shape
    prompts, candidates = random_prompts(N_ENVS, seed=0), [V.ACTIONS] * N_ENVS
    scorer = CandidateScorer(model, tokenizer)

    def batched(p, c):
        return scores_and_hidden(scorer(p, c))

    def pairs(p, c):
        return pair_at_a_time(model, tokenizer, p, c)

    def lamorel(p, c):
        return lamorel_feb23(model, tokenizer, p, c)

    with torch.no_grad():  # the three agree (checked on 4 prompts, to save time)
        reference = batched(prompts[:4], candidates[:4])
        for baseline in (pairs, lamorel):
            scores, hidden = baseline(prompts[:4], candidates[:4])
            torch.testing.assert_close(reference[0], scores, rtol=1e-4, atol=1e-4)
            torch.testing.assert_close(reference[1], hidden, rtol=1e-4, atol=1e-4)
        ways, warm = three_ways(lambda fn: fn(), batched, pairs, lamorel, prompts, candidates)
        seconds, over_pairs, over_lamorel = speedups(ways, warm)
    batched_s, pairs_s, lamorel_s = seconds["batched"], seconds["pairs"], seconds["lamorel"]
    benchmark.extra_info.update(batched_s=batched_s, pairs_s=pairs_s, lamorel_s=lamorel_s,
                                speedup_over_pairs=over_pairs,
                                speedup_over_lamorel=over_lamorel)
    print(f"\nacting, {N_ENVS} prompts x 6 actions: batched {batched_s:.2f} s, one pair at a time "
          f"{pairs_s:.2f} s ({over_pairs:.1f}x, limit {ACTING_OVER_PAIRS}), lamorel Feb-2023 "
          f"{lamorel_s:.2f} s ({over_lamorel:.1f}x, limit {ACTING_OVER_LAMOREL})")
    with torch.no_grad():
        benchmark.pedantic(ways["batched"], rounds=1, iterations=1)
    assert over_pairs >= ACTING_OVER_PAIRS and over_lamorel >= ACTING_OVER_LAMOREL


def test_update_forward_backward_faster_than_both_baselines(benchmark, flan_t5_small_shape):
    model, tokenizer = flan_t5_small_shape
    prompts, candidates = random_prompts(UPDATE_MINIBATCH, seed=1), [V.ACTIONS] * UPDATE_MINIBATCH
    scorer = CandidateScorer(model, tokenizer)
    actions = torch.arange(UPDATE_MINIBATCH) % 6

    def update_step(score):
        """A policy-gradient-shaped loss on the scores, and its backward pass."""
        model.zero_grad(set_to_none=True)
        scores, hidden = score()
        rows = torch.arange(scores.shape[0])
        loss = -torch.log_softmax(scores, -1)[rows, actions[rows]].mean()
        (loss + hidden.pow(2).mean()).backward()

    def batched(p, c):
        return scores_and_hidden(scorer(p, c))

    def pairs(p, c):
        return pair_at_a_time(model, tokenizer, p, c)

    def lamorel(p, c):
        return lamorel_feb23(model, tokenizer, p, c)

    ways, warm = three_ways(update_step, batched, pairs, lamorel, prompts, candidates)
    seconds, over_pairs, over_lamorel = speedups(ways, warm)
    batched_s, pairs_s, lamorel_s = seconds["batched"], seconds["pairs"], seconds["lamorel"]
    benchmark.extra_info.update(batched_s=batched_s, pairs_s=pairs_s, lamorel_s=lamorel_s,
                                speedup_over_pairs=over_pairs,
                                speedup_over_lamorel=over_lamorel)
    print(f"\nupdate, {UPDATE_MINIBATCH} prompts x 6 actions, forward+backward: batched "
          f"{batched_s:.2f} s, one pair at a time {pairs_s:.2f} s ({over_pairs:.1f}x, limit "
          f"{UPDATE_OVER_PAIRS}), lamorel Feb-2023 {lamorel_s:.2f} s ({over_lamorel:.1f}x, "
          f"limit {UPDATE_OVER_LAMOREL})")
    benchmark.pedantic(ways["batched"], rounds=1, iterations=1)
    model.zero_grad(set_to_none=True)
    assert over_pairs >= UPDATE_OVER_PAIRS and over_lamorel >= UPDATE_OVER_LAMOREL
