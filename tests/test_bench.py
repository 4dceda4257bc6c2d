"""``glam-bench bench``: its FLOP count against an analytic count, and its JSON record (issue 12)."""

from __future__ import annotations

import json

import pytest
import torch

from glam_bench.tools.bench import SHAPES, TABLE_HEADER, counted, run_bench, shape_model, table_row
from glam_bench.llm.heads import LLMPolicy
from glam_bench.paper.vocabulary import ACTION_SPACES

PROMPT = ("Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle\n"
          "Goal of the agent: go to the red ball\nObservation 0: You see a wall 2 steps forward\n"
          "Action 0: turn left\nObservation 1: You see a red ball 1 step left\nAction 1: ")


def t5_scoring_flops(config, n: int, prompt_len: int, slots: int, cand_len: int, head: int) -> int:
    """Matrix-product FLOPs of one GFlan forward, written from T5's architecture alone.

    ``n`` identical prompts of ``prompt_len`` tokens; each decoder row packs ``slots``
    candidate segments of ``cand_len`` tokens. Multiply-adds count 2.
    """
    d, inner, ff, vocab = config.d_model, config.num_heads * config.d_kv, config.d_ff, config.vocab_size
    gated = 3 if config.is_gated_act else 2
    enc_tokens, dec_len = n * prompt_len, slots * cand_len
    dec_tokens = n * dec_len
    encoder = (4 * 2 * enc_tokens * d * inner          # q, k, v, o projections
               + 2 * 2 * n * prompt_len**2 * inner     # scores and weighted values
               + gated * 2 * enc_tokens * d * ff)      # feed-forward
    decoder = (4 * 2 * dec_tokens * d * inner + 2 * 2 * n * dec_len**2 * inner      # self-attention
               + 2 * 2 * dec_tokens * d * inner + 2 * 2 * enc_tokens * d * inner    # cross q, o; k, v
               + 2 * 2 * n * dec_len * prompt_len * inner                             # cross scores, values
               + gated * 2 * dec_tokens * d * ff)
    lm_head = 2 * dec_tokens * d * vocab
    value_head = 2 * n * (d * head + head * head + head)
    return config.num_layers * encoder + config.num_decoder_layers * decoder + lm_head + value_head


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory):
    torch.manual_seed(0)
    return LLMPolicy.from_pretrained("tiny-t5", n_actions=6, head_hidden=32,
                                     models_dir=tmp_path_factory.mktemp("models"))


def test_flop_counter_matches_the_analytic_count(tiny_policy):
    """Acting counts one forward; an update step three (backward = 2 x forward for matmuls)."""
    candidates = list(ACTION_SPACES["canonical"])
    n = 3
    scorer = tiny_policy.scorer
    prompt_len = len(scorer._prompt_tokens([PROMPT])[0])
    cand_len = max(len(t) for t in scorer._candidate_tokens(candidates))
    expected = t5_scoring_flops(tiny_policy.llm.config, n, prompt_len, len(candidates), cand_len, 32)
    with torch.no_grad():
        _, acting = counted(lambda: tiny_policy([PROMPT] * n, [candidates] * n))
    assert acting == expected

    def step():
        output = tiny_policy([PROMPT] * n, [candidates] * n)
        (output.logits.logsumexp(-1).sum() + output.values.sum()).backward()

    assert counted(step)[1] == 3 * expected


def test_shapes_build_the_published_architectures():
    model, _ = shape_model("smollm2-135m", torch.device("meta"))
    assert 134e6 < sum(p.numel() for p in model.parameters()) < 136e6  # SmolLM2-135M, tied
    assert SHAPES["flan-t5-large"]["num_layers"] == 24


def test_bench_writes_every_field(tmp_path):
    """A tiny end-to-end bench on the CPU: rates, counted FLOPs, fractions, projections."""
    record = run_bench("workflows/config/ci.yaml", "tiny-t5", "fp32", device="cpu", cycles=1,
                       frames_per_env=1, num_envs=2, progress=lambda _: None)
    json.dumps(record)  # serialisable
    for key in ("acting_frames_per_s", "update_frames_per_s", "cycle_frames_per_s", "tokens_per_s",
                "achieved_tflops", "dense_matmul_tflops", "fraction_of_matmul", "peak_memory_gib"):
        assert record[key] > 0, key
    flops = record["flops_per_frame"]
    assert flops["acting"] > 0 and flops["update"] > flops["acting"]
    assert flops["cycle"] == pytest.approx(flops["acting"] + flops["update"])
    assert record["fraction_of_peak"] is None  # no datasheet peak for a CPU
    assert record["geometry"]["num_envs"] == 2 and record["frames_timed"] == 2
    assert record["projected_hours"]["mixed"]["hours_per_run"] > 0
    assert record["prompt_tokens"]["max"] >= record["prompt_tokens"]["min"] > 0
    assert table_row(record).count("|") == TABLE_HEADER.splitlines()[0].count("|")
