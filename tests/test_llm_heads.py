"""Value/action heads and the LLMPolicy variants of the pretraining ablation (§B.3, §B.4)."""

from __future__ import annotations

import pytest
import torch

from glam_bench.paper import vocabulary as V
from glam_bench.llm.corpus import random_prompts
from glam_bench.llm.heads import VARIANTS, LLMPolicy, action_head, value_head
from glam_bench.llm.scoring import PADDING_SCORE, CandidateScorer, ScoringConfig
from tests.llm_fixtures import tiny_models_dir, tiny_t5  # noqa: F401  (fixtures)


PROMPTS = random_prompts(4, seed=11)
CANDIDATES = [list(V.ACTIONS)] * 4


def policy(variant, models_dir, model="tiny-t5", **kwargs):
    return LLMPolicy.from_pretrained(model, variant, n_actions=6, head_hidden=32, models_dir=models_dir, **kwargs)


def test_head_shapes_follow_the_paper():
    head = value_head(1024)
    assert [type(m).__name__ for m in head] == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert sum(p.numel() for p in head.parameters()) == 2_100_225  # "about 2.1M" for Flan-T5-large (§B.3)
    assert action_head(64, 9, hidden=32)(torch.zeros(2, 64)).shape == (2, 9)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_gives_logits_and_values(variant, tiny_models_dir):
    net = policy(variant, tiny_models_dir)
    logits, values = net(PROMPTS, CANDIDATES)
    assert logits.shape == (4, 6) and values.shape == (4,)
    assert torch.isfinite(logits).all() and torch.isfinite(values).all()
    assert net.trainable == (variant != "zero-shot")


def test_gflan_logits_are_the_scorer_scores(tiny_t5, tiny_models_dir):
    config = ScoringConfig(scorer="raw_logits")
    net = policy("gflan", tiny_models_dir, scoring=config)
    with torch.no_grad():
        logits, _ = net(PROMPTS, CANDIDATES)
        expected = CandidateScorer(tiny_t5.model, tiny_t5.tokenizer, config)(PROMPTS, CANDIDATES).scores
    torch.testing.assert_close(logits, expected)


def test_embedding_variants_load_only_the_pretrained_embeddings(tiny_t5, tiny_models_dir):
    pretrained = tiny_t5.model.state_dict()
    for variant, has_embeddings in (("npae", True), ("npe", True), ("npa", False)):
        state = policy(variant, tiny_models_dir).llm.state_dict()
        assert torch.equal(state["shared.weight"], pretrained["shared.weight"]) == has_embeddings, variant
        key = "encoder.block.0.layer.0.SelfAttention.q.weight"
        assert not torch.equal(state[key], pretrained[key]), variant
    gflan = policy("gflan", tiny_models_dir).llm.state_dict()
    assert all(torch.equal(gflan[k], v) for k, v in pretrained.items())


def test_action_heads_ignore_the_candidate_text(tiny_models_dir):
    net = policy("npae", tiny_models_dir)
    with torch.no_grad():
        a = net(PROMPTS, CANDIDATES)
        b = net(PROMPTS, [list(V.SYNONYM_ACTION_SETS["synonyms_1"])] * 4)
        short = net(PROMPTS[:2], [V.ACTIONS[:3], V.ACTIONS])
    torch.testing.assert_close(a.logits, b.logits)
    torch.testing.assert_close(a.values, b.values)
    assert short.logits.shape == (2, 6) and (short.logits[0, 3:] == PADDING_SCORE).all()
    torch.testing.assert_close(short.logits[1], a.logits[1])


@pytest.mark.parametrize("variant", ["gflan", "aflan"])
@pytest.mark.parametrize("model", ["tiny-t5", "tiny-gpt2"])
def test_ppo_style_loss_backpropagates_into_llm_and_heads(variant, model, tiny_models_dir):
    net = policy(variant, tiny_models_dir, model=model)
    logits, values = net(PROMPTS, CANDIDATES)
    dist = torch.distributions.Categorical(logits=logits)
    actions = torch.tensor([0, 1, 2, 3])
    loss = -dist.log_prob(actions).mean() - 0.01 * dist.entropy().mean() + 0.5 * values.pow(2).mean()
    loss.backward()
    llm_grads = [p.grad for p in net.llm.parameters() if p.grad is not None]
    assert llm_grads and any(g.abs().sum() > 0 for g in llm_grads)
    assert all(p.grad is not None for p in net.value_head.parameters())
    if variant == "aflan":
        assert all(p.grad is not None for p in net.action_head.parameters())


def test_invalid_configurations_are_rejected(tiny_t5):
    with pytest.raises(ValueError, match="unknown policy variant"):
        LLMPolicy(tiny_t5.model, tiny_t5.tokenizer, "gflan-xxl")
    with pytest.raises(ValueError, match="n_actions"):
        LLMPolicy(tiny_t5.model, tiny_t5.tokenizer, "npae")
