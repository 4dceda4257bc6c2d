"""Score candidate action strings with a language model: the GFlan-T5 policy (§B.2).

The policy over the candidate actions of a prompt is ``softmax(scores)``. One
implementation serves acting (under ``torch.no_grad()``) and the PPO update
(with gradients) (DESIGN.md, "One path for one job"); the caller picks the
grad mode, the code is the same.

Batching (anchors.md §4, §F.3): the prompt part runs once per prompt and
all candidates of all prompts are decoded in one batched pass.

* Encoder-decoder (T5 family): the encoder runs once per prompt (prompts
  right-padded with an attention mask, in chunks of similar length so little
  is spent on padding). Each candidate's decoder input is the start token
  (pad 0) followed by its tokens, right-padded with a decoder attention mask,
  as in lamorel; but instead of repeating the encoder output once per
  candidate (lamorel's ``repeat_interleave``), a prompt's candidates are
  packed side by side into one decoder row whose self-attention mask keeps
  each candidate to its own segment. T5's relative position bias makes each
  segment decode exactly as if alone, and the prompt's cross-attention
  keys/values are computed once instead of once per candidate (with 6
  candidates those projections would cost more than the encoder itself).
* Decoder-only (causal): the left-padded prompts run once; their key/value
  cache is repeated per candidate and every candidate is decoded on top of it
  (position ids continue each prompt's own length).

Prompts may have different numbers of candidates. Scores come back padded to
``[n_prompts, max_candidates]``, with :data:`PADDING_SCORE` in empty slots.

Scorers (choose with :class:`ScoringConfig`; §B.2, §H.1):

* ``logprob``: sum of the candidate tokens' log-softmax probabilities, i.e.
  log P_LLM(a|p). The correct one.
* ``raw_logits``: the May-2023+ code: sum of the *raw* logits gathered at the
  candidate tokens, plus 1.0 per padding position (pads are filled with 1.0 and
  summed). A candidate's padding positions are counted up to the longest
  candidate of its prompt; ``pad_group_size=g`` instead counts up to the
  longest candidate of its group of ``g`` consecutive (prompt, candidate)
  pairs, like lamorel's decoder minibatches (``minibatch_size`` 3 in §C).
* ``prob_ratio``: the Feb-2023 code: P(a|p) = product of token probabilities
  (pads count 1), divided by the best candidate's, and the policy is a softmax
  over these ratios, so no action can get more than e/(e+n-1) (0.352 with 6).
  If the best P is below 1e-45 or NaN, the scores are all 0 (uniform policy).

``append_eos`` (default True) appends the tokenizer's end-of-sequence token
(T5's ``</s>``) to every candidate and, for encoder-decoders, to every prompt,
as the Hugging Face T5 tokenizer did in the Feb- and May-2023 code the paper's
numbers come from (§B.2); ``False`` is lamorel >= v0.2 (no special tokens).
Causal prompts never get an end-of-sequence token.

``candidate_space`` and ``chat_template`` choose the texts tokenized
(:mod:`glam_bench.llm.framing`); their defaults leave the texts as they are.
"""

from __future__ import annotations

import inspect
import itertools
import math

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from transformers.modeling_outputs import BaseModelOutput

from glam_bench.llm import framing
from glam_bench.llm.batching import (
    TokenCache,
    length_sorted_chunks,
    pack_segments,
    pad_left,
    pad_right,
    segment_causal_mask,
)

SCORERS: tuple[str, ...] = ("logprob", "raw_logits", "prob_ratio")
#: Score of an empty candidate slot: finite, so softmax, Categorical and entropy stay NaN-free.
PADDING_SCORE: float = torch.finfo(torch.float32).min
#: Below this best-candidate probability the Feb-2023 policy falls back to uniform (§B.2).
PROB_RATIO_FLOOR: float = 1e-45
#: Encoder-decoders whose decoder uses relative positions only, which packed candidates rely on.
PACKABLE_MODEL_TYPES: frozenset[str] = frozenset({"t5", "mt5", "umt5"})


@dataclass(frozen=True)
class ScoringConfig:
    """How candidates are scored; see the module docstring.

    ``prompt_chunk_size`` only changes speed, and only on the CPU: there, encoding
    prompts in chunks of similar length saves the compute spent on padding. On an
    accelerator every chunk costs a full set of kernel launches (a Flan-T5-large
    minibatch of 64 in 8 chunks ran ~4,800 matmul launches, with the GPU idle
    most of the time), so prompts are encoded in one pass there
    (:meth:`CandidateScorer.chunk_size`).
    """

    scorer: str = "logprob"
    append_eos: bool = True
    pad_group_size: int | None = None
    prompt_chunk_size: int | None = 8
    candidate_space: str = "prompt"
    chat_template: bool = False

    def __post_init__(self) -> None:
        if self.scorer not in SCORERS:
            raise ValueError(f"unknown scorer {self.scorer!r}; expected one of {SCORERS}")
        for name in ("pad_group_size", "prompt_chunk_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive integer or None")
        if self.candidate_space not in framing.CANDIDATE_SPACES:
            raise ValueError(f"unknown candidate_space {self.candidate_space!r}; "
                             f"expected one of {framing.CANDIDATE_SPACES}")


class ScoringOutput(NamedTuple):
    """Scores of every candidate of every prompt, and the hidden state heads read.

    ``scores``: float32 ``[n_prompts, max_candidates]``, the policy logits
    (``PADDING_SCORE`` where ``mask`` is False). ``hidden``: ``[n_prompts,
    d_model]``, the last layer's hidden state at the first decoder position
    (encoder-decoder) or at the last prompt token (causal), §B.3.
    """

    scores: torch.Tensor
    mask: torch.Tensor
    hidden: torch.Tensor


def padding_counts(lengths: Sequence[Sequence[int]], group_size: int | None = None) -> list[list[int]]:
    """Padding positions of each candidate for the ``raw_logits`` scorer (+1.0 each).

    ``lengths[i][j]`` is the token count of candidate j of prompt i. Without
    ``group_size``, a candidate is padded to the longest candidate of its
    prompt; with it, to the longest of its group of ``group_size`` consecutive
    pairs in the flattened (prompt, candidate) order.
    """
    if group_size is None:
        return [[max(row) - n for n in row] for row in lengths]
    flat = [n for row in lengths for n in row]
    group_max = [max(flat[i - i % group_size : i - i % group_size + group_size]) for i in range(len(flat))]
    counts, start = [], 0
    for row in lengths:
        counts.append([group_max[start + j] - n for j, n in enumerate(row)])
        start += len(row)
    return counts


class CandidateScorer:
    """Scores (prompt, candidates) batches with one model; call it with or without gradients."""

    def __init__(self, model: torch.nn.Module, tokenizer, config: ScoringConfig = ScoringConfig()) -> None:
        self.model = model
        self.config = config
        self.tokens = TokenCache(tokenizer)
        self.tokenizer = tokenizer
        framing.check_framing(config.candidate_space, config.chat_template, tokenizer)
        self.is_encoder_decoder = bool(model.config.is_encoder_decoder)
        if self.is_encoder_decoder and model.config.model_type not in PACKABLE_MODEL_TYPES:
            raise NotImplementedError(
                "scoring encoder-decoders needs relative decoder positions (T5 family); "
                f"got {model.config.model_type!r}"
            )
        self.eos_id = tokenizer.eos_token_id
        pad_id = tokenizer.pad_token_id
        self.pad_id = pad_id if pad_id is not None else (self.eos_id if self.eos_id is not None else 0)
        self.start_id = model.config.decoder_start_token_id if self.is_encoder_decoder else None
        self.cache_keyword = cache_keyword(model)
        if config.append_eos and self.eos_id is None:
            raise ValueError("append_eos=True but the tokenizer has no end-of-sequence token")

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def chunk_size(self) -> int | None:
        """Prompts per encoder pass: ``prompt_chunk_size`` on the CPU, all at once elsewhere."""
        return self.config.prompt_chunk_size if self.device.type == "cpu" else None

    # --- Public API ------------------------------------------------------------------

    def __call__(self, prompts: Sequence[str], candidates: Sequence[Sequence[str]]) -> ScoringOutput:
        """Score ``candidates[i]`` (at least one string) given ``prompts[i]``, for every i."""
        if len(prompts) != len(candidates) or any(len(c) == 0 for c in candidates):
            raise ValueError("need one non-empty candidate list per prompt")
        counts = [len(c) for c in candidates]
        cand_tokens = self._candidate_tokens([c for row in candidates for c in row])
        cand_ids, cand_mask = (t.to(self.device) for t in pad_right(cand_tokens, self.pad_id, min_length=1))
        rows = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts)).to(self.device)
        slots = torch.cat([torch.arange(n) for n in counts]).to(self.device)

        if self.is_encoder_decoder:
            logits, hidden = self._seq2seq_logits(prompts, rows, slots, cand_ids, cand_mask)
        else:
            logits, hidden = self._causal_logits(prompts, rows, cand_ids, cand_mask)

        pair_scores = self._pair_scores(logits, cand_ids, cand_mask)
        if self.config.scorer == "raw_logits":
            pair_scores = pair_scores + self._padding_bonus(cand_tokens, counts)
        shape = (len(counts), max(counts))
        scores = pair_scores.new_zeros(shape).index_put((rows, slots), pair_scores)
        mask = torch.zeros(shape, dtype=torch.bool, device=self.device).index_put(
            (rows, slots), torch.tensor(True, device=self.device)
        )
        if self.config.scorer == "prob_ratio":
            scores = _probability_ratios(scores, mask)
        return ScoringOutput(scores.masked_fill(~mask, PADDING_SCORE), mask, hidden)

    def prompt_hidden(self, prompts: Sequence[str]) -> torch.Tensor:
        """The heads' input alone, for action-head policies: the decoder sees only the start token (§B.4)."""
        if not self.is_encoder_decoder:
            return self._causal_prompt_pass(prompts, use_cache=False)[1]
        encoder_states, prompt_mask = self._encode(prompts)
        start = torch.full((len(prompts), 1), self.start_id, dtype=torch.long, device=self.device)
        out = self.model(
            encoder_outputs=BaseModelOutput(last_hidden_state=encoder_states),
            attention_mask=prompt_mask,
            decoder_input_ids=start,
            output_hidden_states=True,
            use_cache=False,
        )
        return out.decoder_hidden_states[-1][:, 0]

    # --- Tokens -----------------------------------------------------------------------

    def _candidate_tokens(self, candidates: Sequence[str]) -> list[tuple[int, ...]]:
        eos = (self.eos_id,) if self.config.append_eos else ()
        texts = [framing.frame_candidate(c, self.config.candidate_space) for c in candidates]
        return [ids + eos for ids in self.tokens(texts)]

    def _prompt_tokens(self, prompts: Sequence[str]) -> list[tuple[int, ...]]:
        eos = (self.eos_id,) if self.config.append_eos and self.is_encoder_decoder else ()
        config = self.config
        texts = [framing.frame_prompt(p, config.candidate_space, config.chat_template, self.tokenizer)
                 for p in prompts]
        return [ids + eos for ids in self.tokens(texts)]

    # --- Encoder-decoder ---------------------------------------------------------------

    def _encode(self, prompts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder states ``[prompts, width, d]`` and mask, computed in chunks of similar prompt length."""
        tokens = self._prompt_tokens(prompts)
        ids, mask = (t.to(self.device) for t in pad_right(tokens, self.pad_id))
        chunks = length_sorted_chunks([len(t) for t in tokens], self.chunk_size())
        parts = []
        for chunk in chunks:
            width = max(len(tokens[i]) for i in chunk)
            index = torch.tensor(chunk, device=self.device)
            states = self.model.get_encoder()(input_ids=ids[index, :width], attention_mask=mask[index, :width])
            parts.append(F.pad(states.last_hidden_state, (0, 0, 0, ids.shape[1] - width)))
        order = torch.tensor([i for chunk in chunks for i in chunk], device=self.device)
        return torch.cat(parts)[order.argsort()], mask

    def _seq2seq_logits(self, prompts, rows, slots, cand_ids, cand_mask) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits predicting each candidate token ``[pairs, length, vocab]``, and decoder position-0 states."""
        encoder_states, prompt_mask = self._encode(prompts)
        start = torch.full_like(cand_ids[:, :1], self.start_id)
        # Position t of a segment reads [start, c_0 .. c_{t-1}] and predicts c_t.
        segments = torch.cat([start, cand_ids[:, :-1]], dim=1)
        segment_mask = torch.cat([torch.ones_like(start), cand_mask[:, :-1]], dim=1)
        n_slots, length = int(slots.max()) + 1, segments.shape[1]
        ids, mask = pack_segments(segments, segment_mask, rows, slots, len(prompts), n_slots)
        out = self.model(
            encoder_outputs=BaseModelOutput(last_hidden_state=encoder_states),
            attention_mask=prompt_mask,
            decoder_input_ids=ids,
            decoder_attention_mask=self._attention_mask_4d(segment_causal_mask(mask, length)),
            output_hidden_states=True,
            use_cache=False,
        )
        logits = out.logits.view(len(prompts), n_slots, length, -1)[rows, slots]
        return logits, out.decoder_hidden_states[-1][:, 0]

    def _attention_mask_4d(self, allowed: torch.Tensor) -> torch.Tensor:
        """A ready 4D mask as the model's attention code wants it: boolean for sdpa, additive for eager."""
        if self.model.config._attn_implementation != "eager":
            return allowed
        dtype = self.model.dtype
        additive = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
        return additive.masked_fill(~allowed, torch.finfo(dtype).min)

    # --- Decoder-only --------------------------------------------------------------------

    def _causal_prompt_pass(self, prompts: Sequence[str], use_cache: bool = True):
        """The left-padded prompts once: next-token logits, last hidden state, cache, mask."""
        ids, mask = (t.to(self.device) for t in pad_left(self._prompt_tokens(prompts), self.pad_id))
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
            use_cache=use_cache,
            output_hidden_states=True,
            logits_to_keep=1,
        )
        return out.logits[:, -1], out.hidden_states[-1][:, -1], out.get(self.cache_keyword), mask

    def _causal_logits(self, prompts, rows, cand_ids, cand_mask) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits predicting each candidate token, all candidates decoded on a per-candidate copy of the cache."""
        next_logits, hidden, cache, prompt_mask = self._causal_prompt_pass(prompts)
        first = next_logits[rows].unsqueeze(1)  # the last prompt token predicts each first candidate token
        if cand_ids.shape[1] == 1:
            return first, hidden
        cache.batch_select_indices(rows)
        fed, prompt_mask = cand_ids[:, :-1], prompt_mask[rows]
        out = self.model(
            input_ids=fed,
            attention_mask=torch.cat([prompt_mask, cand_mask[:, :-1]], dim=1),
            position_ids=prompt_mask.sum(-1, keepdim=True) + torch.arange(fed.shape[1], device=self.device),
            use_cache=True,
            **{self.cache_keyword: cache},
        )
        return torch.cat([first, out.logits], dim=1), hidden

    # --- Reductions --------------------------------------------------------------------

    def _pair_scores(self, logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per (prompt, candidate) pair: summed log-probabilities, or summed raw logits for ``raw_logits``."""
        logits = logits.float()
        if self.config.scorer != "raw_logits":
            logits = logits.log_softmax(-1)
        token_values = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        return torch.where(mask.bool(), token_values, torch.zeros_like(token_values)).sum(-1)

    def _padding_bonus(self, cand_tokens: Sequence[Sequence[int]], counts: Sequence[int]) -> torch.Tensor:
        """+1.0 per padding position of each candidate: the May-2023 ``raw_logits`` quirk (§B.2)."""
        bounds = list(itertools.accumulate(counts, initial=0))
        lengths = [[len(t) for t in cand_tokens[a:b]] for a, b in zip(bounds, bounds[1:])]
        pads = [n for row in padding_counts(lengths, self.config.pad_group_size) for n in row]
        return torch.tensor(pads, dtype=torch.float32, device=self.device)


def cache_keyword(model: torch.nn.Module) -> str:
    """The KV cache's argument and output name: ``cache`` in transformers >= 5.2x, ``past_key_values`` before.

    The old name still works in transformers 5 but warns on every call and is
    to be removed (5.40); a wrapped model (peft) is asked through its base model.
    """
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def _probability_ratios(logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """P(a)/max P per prompt, from log P (exact same ratio, no 0/0); all 0 where max P < 1e-45 or NaN (§B.2)."""
    logprobs = logprobs.masked_fill(~mask, float("-inf"))
    best = logprobs.max(dim=1, keepdim=True).values
    # Compared in log space: exp(best) near 1e-45 is a float32 denormal, which a
    # process that flushes denormals (torch.set_flush_denormal) would turn into 0.
    degenerate = ~(best >= math.log(PROB_RATIO_FLOOR))  # also true for NaN
    # Zero the degenerate rows before exp so no inf/NaN reaches the backward pass.
    ratios = torch.exp(logprobs.masked_fill(degenerate, 0.0) - best.masked_fill(degenerate, 0.0))
    return ratios.masked_fill(degenerate, 0.0)
