"""The slow, obviously correct candidate scorer that :mod:`glam_bench.llm.scoring` is checked against.

One full forward pass per (prompt, candidate) pair, batch size 1, no padding,
no shared encoder or cache, and each scorer of §B.2 written out in its own
terms (products of probabilities for ``prob_ratio``, not log-sums). Tests
compare the batched scorer with it; speed benchmarks time it as the baseline.
Never used for training.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from glam_bench.llm import framing
from glam_bench.llm.scoring import PADDING_SCORE, PROB_RATIO_FLOOR, ScoringConfig, ScoringOutput, padding_counts


def naive_scores(
    model: torch.nn.Module,
    tokenizer,
    prompts: Sequence[str],
    candidates: Sequence[Sequence[str]],
    config: ScoringConfig = ScoringConfig(),
) -> ScoringOutput:
    """Same contract as :class:`scoring.CandidateScorer`, one pair at a time."""
    eos = [tokenizer.eos_token_id] if config.append_eos else []
    seq2seq = bool(model.config.is_encoder_decoder)
    rows, hiddens, lengths = [], [], []
    space, chat = config.candidate_space, config.chat_template
    for prompt, options in zip(prompts, candidates):
        prompt = framing.frame_prompt(prompt, space, chat, tokenizer)
        options = [framing.frame_candidate(c, space) for c in options]
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"] + (eos if seq2seq else [])
        pair_stats = []
        for candidate in options:
            cand_ids = tokenizer(candidate, add_special_tokens=False)["input_ids"] + eos
            logits, hidden = _pair_forward(model, prompt_ids, cand_ids, seq2seq)
            pair_stats.append(_token_statistics(logits.float(), cand_ids))
            if len(pair_stats) == 1:
                hiddens.append(hidden)
        rows.append(pair_stats)
        lengths.append([len(tokenizer(c, add_special_tokens=False)["input_ids"]) + len(eos) for c in options])
    pads = padding_counts(lengths, config.pad_group_size)
    scores = [_row_scores(row, row_pads, config.scorer) for row, row_pads in zip(rows, pads)]
    return _pad_rows(scores, torch.stack(hiddens))


def _pair_forward(model, prompt_ids: list[int], cand_ids: list[int], seq2seq: bool):
    """Logits predicting each candidate token ``[len(cand), vocab]`` and the heads' hidden state."""
    device = next(model.parameters()).device
    if seq2seq:
        decoder_ids = [model.config.decoder_start_token_id] + cand_ids[:-1]
        out = model(
            input_ids=torch.tensor([prompt_ids], device=device),
            decoder_input_ids=torch.tensor([decoder_ids], device=device),
            output_hidden_states=True,
            use_cache=False,
        )
        return out.logits[0, : len(cand_ids)], out.decoder_hidden_states[-1][0, 0]
    sequence = prompt_ids + cand_ids[:-1]
    out = model(input_ids=torch.tensor([sequence], device=device), output_hidden_states=True, use_cache=False)
    first = len(prompt_ids) - 1  # the last prompt token predicts the first candidate token
    return out.logits[0, first : first + len(cand_ids)], out.hidden_states[-1][0, first]


def _token_statistics(logits: torch.Tensor, cand_ids: list[int]) -> dict[str, torch.Tensor]:
    targets = torch.tensor(cand_ids, device=logits.device).unsqueeze(-1)
    probs = logits.softmax(-1).gather(-1, targets).squeeze(-1)
    return {
        "logprob": logits.log_softmax(-1).gather(-1, targets).sum(),
        "raw": logits.gather(-1, targets).sum(),
        "prob": probs.prod(),
    }


def _row_scores(stats: list[dict[str, torch.Tensor]], pads: list[int], scorer: str) -> torch.Tensor:
    if scorer == "logprob":
        return torch.stack([s["logprob"] for s in stats])
    if scorer == "raw_logits":
        return torch.stack([s["raw"] + 1.0 * n for s, n in zip(stats, pads)])
    probs = torch.stack([s["prob"] for s in stats])
    best = probs.max()
    if torch.isnan(best) or best < PROB_RATIO_FLOOR:
        return torch.zeros_like(probs)
    return probs / best


def _pad_rows(rows: list[torch.Tensor], hidden: torch.Tensor) -> ScoringOutput:
    width = max(len(r) for r in rows)
    scores = torch.stack([torch.cat([r, r.new_full((width - len(r),), PADDING_SCORE)]) for r in rows])
    mask = torch.tensor([[j < len(r) for j in range(width)] for r in rows], device=scores.device)
    return ScoringOutput(scores, mask, hidden)
