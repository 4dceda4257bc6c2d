"""Batched candidate scoring (§B.2, anchors §4) against the naive one-pair-at-a-time reference."""

from __future__ import annotations

import math

import pytest
import torch

from glam_bench.paper import vocabulary as V
from glam_bench.llm.corpus import random_prompts
from glam_bench.llm.naive_scoring import naive_scores
from glam_bench.llm.batching import TokenCache, length_sorted_chunks, segment_causal_mask
from glam_bench.llm.scoring import (
    PADDING_SCORE,
    CandidateScorer,
    ScoringConfig,
    _probability_ratios,
    padding_counts,
)
from tests.llm_fixtures import tiny_gpt2, tiny_models_dir, tiny_t5  # noqa: F401  (fixtures)



def mixed_batch():
    """Prompts of different lengths (1 to 3 observations) with 6, 3 and 9 candidates."""
    prompts = random_prompts(1, seed=1, nbr_obs=3) + random_prompts(1, seed=2, nbr_obs=1) + random_prompts(1, seed=3, nbr_obs=2)
    candidates = [list(V.ACTIONS), ["go forward", "toggle", "rotate left"], list(V.ACTION_SPACES["augmented"])]
    return prompts, candidates


@pytest.fixture(params=["tiny_t5", "tiny_gpt2"])
def loaded(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("append_eos", [True, False])
@pytest.mark.parametrize("scorer", ["logprob", "raw_logits", "prob_ratio"])
def test_batched_scoring_equals_naive_per_pair_forward(loaded, scorer, append_eos):
    prompts, candidates = mixed_batch()
    config = ScoringConfig(scorer=scorer, append_eos=append_eos)
    with torch.no_grad():
        batched = CandidateScorer(loaded.model, loaded.tokenizer, config)(prompts, candidates)
        naive = naive_scores(loaded.model, loaded.tokenizer, prompts, candidates, config)
    assert torch.equal(batched.mask, naive.mask)
    assert (batched.scores - naive.scores).abs().max() < 1e-5
    assert (batched.hidden - naive.hidden).abs().max() < 1e-5


@pytest.mark.parametrize("chunk", [None, 1, 2])
def test_prompt_chunking_does_not_change_scores(tiny_t5, chunk):
    prompts, candidates = mixed_batch()
    with torch.no_grad():
        chunked = CandidateScorer(tiny_t5.model, tiny_t5.tokenizer, ScoringConfig(prompt_chunk_size=chunk))(prompts, candidates)
        naive = naive_scores(tiny_t5.model, tiny_t5.tokenizer, prompts, candidates)
    assert (chunked.scores - naive.scores).abs().max() < 1e-5
    assert (chunked.hidden - naive.hidden).abs().max() < 1e-5


def test_eager_attention_gets_an_additive_mask_and_the_same_scores(tiny_models_dir, tiny_t5):
    from transformers import AutoModelForSeq2SeqLM

    eager = AutoModelForSeq2SeqLM.from_pretrained(tiny_models_dir / "tiny-t5", attn_implementation="eager").eval()
    prompts, candidates = mixed_batch()
    with torch.no_grad():
        a = CandidateScorer(eager, tiny_t5.tokenizer)(prompts, candidates)
        b = CandidateScorer(tiny_t5.model, tiny_t5.tokenizer)(prompts, candidates)
    assert (a.scores - b.scores).abs().max() < 1e-5


def test_packed_segments_see_only_their_own_past():
    mask = torch.tensor([[1, 1, 0, 1, 0, 0]])  # two segments of 3: [s, a, pad], [s, pad, pad]
    allowed = segment_causal_mask(mask, 3)[0, 0].int()
    assert allowed.tolist() == [
        [1, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0],  # a padding position also sees itself, never an empty row
        [0, 0, 0, 1, 0, 0],
        [0, 0, 0, 1, 1, 0],
        [0, 0, 0, 1, 0, 1],
    ]
    assert length_sorted_chunks([5, 1, 4, 2, 3], 2) == [[1, 3], [4, 2], [0]]


def test_lamorel_style_padding_groups_equal_naive(tiny_t5):
    prompts, candidates = mixed_batch()
    config = ScoringConfig(scorer="raw_logits", pad_group_size=3)
    with torch.no_grad():
        batched = CandidateScorer(tiny_t5.model, tiny_t5.tokenizer, config)(prompts, candidates)
        naive = naive_scores(tiny_t5.model, tiny_t5.tokenizer, prompts, candidates, config)
    assert (batched.scores - naive.scores).abs().max() < 1e-5


def test_gradients_of_batched_scoring_equal_naive_gradients(loaded):
    prompts, candidates = mixed_batch()

    def gradients(score_fn):
        loaded.model.zero_grad()
        out = score_fn()
        loss = torch.log_softmax(out.scores, -1)[:, 0].sum() + out.hidden.pow(2).mean()
        loss.backward()
        return {n: p.grad.clone() for n, p in loaded.model.named_parameters() if p.grad is not None}

    batched = gradients(lambda: CandidateScorer(loaded.model, loaded.tokenizer)(prompts, candidates))
    naive = gradients(lambda: naive_scores(loaded.model, loaded.tokenizer, prompts, candidates))
    loaded.model.zero_grad()
    assert batched.keys() == naive.keys() and len(batched) > 10
    for name in batched:
        torch.testing.assert_close(batched[name], naive[name], rtol=1e-4, atol=1e-5, msg=name)


def test_prob_ratio_caps_any_action_at_e_over_e_plus_5(tiny_t5):
    prompts = random_prompts(16, seed=5)
    scorer = CandidateScorer(tiny_t5.model, tiny_t5.tokenizer, ScoringConfig(scorer="prob_ratio"))
    with torch.no_grad():
        policy = scorer(prompts, [V.ACTIONS] * len(prompts)).scores.softmax(-1)
    bound = math.e / (math.e + 5)
    assert abs(bound - 0.352) < 1e-3
    assert policy.max() <= bound + 1e-6
    assert policy.min() >= 1 / (1 + 5 * math.e) - 1e-6


def test_prob_ratio_is_uniform_when_the_best_probability_vanishes():
    logprobs = torch.tensor([[-200.0, -210.0, -220.0], [float("nan"), -1.0, -2.0], [-1.0, -2.0, 0.0]])
    mask = torch.ones_like(logprobs, dtype=torch.bool)
    ratios = _probability_ratios(logprobs, mask)
    assert torch.equal(ratios[0], torch.zeros(3)) and torch.equal(ratios[1], torch.zeros(3))
    torch.testing.assert_close(ratios[2], torch.exp(torch.tensor([-1.0, -2.0, 0.0])))


def test_raw_logits_add_exactly_one_per_padding_position(tiny_t5):
    prompt = random_prompts(1, seed=7)[0]
    scorer = CandidateScorer(tiny_t5.model, tiny_t5.tokenizer, ScoringConfig(scorer="raw_logits"))
    lengths = [len(tiny_t5.tokenizer(c, add_special_tokens=False)["input_ids"]) for c in ("drop", "do nothing")]
    assert lengths[1] > lengths[0]
    with torch.no_grad():
        together = scorer([prompt], [["drop", "do nothing"]]).scores[0]
        alone = scorer([prompt, prompt], [["drop"], ["do nothing"]]).scores[:, 0]
    assert abs((together[0] - alone[0]).item() - (lengths[1] - lengths[0])) < 1e-4
    assert abs((together[1] - alone[1]).item()) < 1e-4


def test_padding_counts():
    assert padding_counts([[2, 3, 1], [2]]) == [[1, 0, 2], [0]]
    # Groups of 2 consecutive pairs: (2, 3), (1, 2).
    assert padding_counts([[2, 3, 1], [2]], group_size=2) == [[1, 0, 1], [0]]


def test_padded_slots_give_a_nan_free_categorical(tiny_t5):
    prompts, candidates = mixed_batch()
    with torch.no_grad():
        out = CandidateScorer(tiny_t5.model, tiny_t5.tokenizer)(prompts, candidates)
    assert out.scores.shape == (3, 9) and out.mask.sum().item() == 18
    assert (out.scores[~out.mask] == PADDING_SCORE).all()
    dist = torch.distributions.Categorical(logits=out.scores)
    assert torch.isfinite(dist.entropy()).all()
    assert (dist.probs[~out.mask] == 0).all()


def test_prompt_hidden_is_the_scoring_hidden_state(loaded):
    prompts, candidates = mixed_batch()
    scorer = CandidateScorer(loaded.model, loaded.tokenizer)
    with torch.no_grad():
        torch.testing.assert_close(scorer.prompt_hidden(prompts), scorer(prompts, candidates).hidden, rtol=0, atol=1e-5)


def test_token_cache_memoises_and_evicts(tiny_t5):
    calls = []

    class CountingTokenizer:
        def __call__(self, texts, add_special_tokens):
            calls.append(list(texts))
            return tiny_t5.tokenizer(texts, add_special_tokens=add_special_tokens)

    cache = TokenCache(CountingTokenizer(), max_entries=3)
    first = cache(["go forward", "drop", "go forward"])
    assert cache(["drop", "go forward"]) == [first[1], first[0]]
    assert calls == [["go forward", "drop"]]
    cache(["toggle", "pick up"])
    assert len(cache._ids) == 3 and "drop" not in cache._ids  # least recently used went first


def test_invalid_inputs_are_rejected(tiny_t5):
    scorer = CandidateScorer(tiny_t5.model, tiny_t5.tokenizer)
    with pytest.raises(ValueError):
        scorer(["a prompt"], [[]])
    with pytest.raises(ValueError):
        ScoringConfig(scorer="softmax")
