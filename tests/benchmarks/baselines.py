"""The two scoring schemes the batched scorer is timed against (issue 16), logprob scorer only.

* ``pair_at_a_time``: one full forward per (prompt, candidate), batch 1, computing only the
  log-probability sum the policy uses (``naive_scoring`` also computes the other two scorers,
  which is right for checking them but not for timing).
* ``lamorel_feb23``: what the authors ran (§F.3, lamorel's Feb-2023 release): prompts one at a
  time in a Python loop, the encoder once per prompt, its output expanded to minibatches of
  ``minibatch_size`` (3) candidates for the decoder.

Both return ``(scores [n_prompts, n_candidates], hidden [n_prompts, d_model])`` with the
hidden state at the first decoder position (§B.3), so an update step can use either.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]


def _candidate_logprob(logits: torch.Tensor, targets: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
    """Sum over real (unpadded) target tokens of log p(token); one value per row."""
    picked = logits.float().log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(-1)


def pair_at_a_time(model, tokenizer, prompts: Sequence[str],
                   candidates: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]:
    start = model.config.decoder_start_token_id
    rows, hiddens = [], []
    for prompt, options in zip(prompts, candidates):
        prompt_ids = torch.tensor([_ids(tokenizer, prompt)])
        row = []
        for k, candidate in enumerate(options):
            cand = _ids(tokenizer, candidate)
            out = model(input_ids=prompt_ids, decoder_input_ids=torch.tensor([[start] + cand[:-1]]),
                        output_hidden_states=True, use_cache=False)
            target = torch.tensor([cand])
            row.append(_candidate_logprob(out.logits, target, torch.ones_like(target))[0])
            if k == 0:
                hiddens.append(out.decoder_hidden_states[-1][0, 0])
        rows.append(torch.stack(row))
    return torch.stack(rows), torch.stack(hiddens)


def lamorel_feb23(model, tokenizer, prompts: Sequence[str], candidates: Sequence[Sequence[str]],
                  minibatch_size: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    start, pad = model.config.decoder_start_token_id, tokenizer.pad_token_id
    encoder = model.get_encoder()
    rows, hiddens = [], []
    for prompt, options in zip(prompts, candidates):
        encoded = encoder(input_ids=torch.tensor([_ids(tokenizer, prompt)])).last_hidden_state
        row = []
        for first in range(0, len(options), minibatch_size):
            chunk = [_ids(tokenizer, c) for c in options[first:first + minibatch_size]]
            width = max(len(c) for c in chunk)
            targets = torch.tensor([c + [pad] * (width - len(c)) for c in chunk])
            mask = torch.tensor([[1] * len(c) + [0] * (width - len(c)) for c in chunk])
            decoder_ids = torch.cat([torch.full((len(chunk), 1), start), targets[:, :-1]], 1)
            out = model(encoder_outputs=(encoded.expand(len(chunk), -1, -1),),
                        decoder_input_ids=decoder_ids, decoder_attention_mask=mask,
                        output_hidden_states=True, use_cache=False)
            row.append(_candidate_logprob(out.logits, targets, mask))
            if first == 0:
                hiddens.append(out.decoder_hidden_states[-1][0, 0])
        rows.append(torch.cat(row))
    return torch.stack(rows), torch.stack(hiddens)
