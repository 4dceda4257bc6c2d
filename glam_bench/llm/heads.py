"""Value and action heads on the LLM, and the policy module that combines them (§B.3, §B.4).

:class:`LLMPolicy` is what a PPO trainer holds: ``policy(prompts, candidates)``
returns policy logits over each prompt's candidate actions and a value per
prompt, with or without gradients, for every agent variant of the paper's
pretraining ablation (§B.4):

=========  ===================  ===========  =======================================
variant    weights              policy from  notes
=========  ===================  ===========  =======================================
gflan      pretrained           scoring      GFlan-T5, the main agent
aflan      pretrained           action head
npae       random + embeddings  action head
npa        random               action head
npe        random + embeddings  scoring
zero-shot  pretrained           scoring      never updated (``policy.trainable`` is False)
=========  ===================  ===========  =======================================

Both heads read the last layer's hidden state at the first decoder position
(for causal LMs: the last prompt token), in float32 (§B.3). For a causal LM
the last prompt token is the counterpart of T5's decoder position 0: it is
the last position that has read the whole prompt and none of the
candidates, so the value is a function of the state alone (the same for
every candidate and every action space), it is computed once in the
prompt pass whose cache the candidates reuse, and it is the position
whose output predicts the first token of every action. With action heads
the decoder sees only its start token and the action names appear only in the
prompt header; the candidates passed in are used only for their count.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.utils.checkpoint
from torch import nn

from glam_bench.runtime.config import AdapterConfig
from glam_bench.llm.adapters import apply_adapter
from glam_bench.llm.loading import load_model
from glam_bench.llm.scoring import PADDING_SCORE, CandidateScorer, ScoringConfig
from glam_bench.paper.study import AGENTS, LLM_PPO_FAMILY, LLMInit


def mlp_head(d_in: int, d_out: int, hidden: int = 1024) -> nn.Sequential:
    """Linear(d_in, hidden) -> Sigmoid -> Linear(hidden, hidden) -> Sigmoid -> Linear(hidden, d_out), as §B.3."""
    return nn.Sequential(
        nn.Linear(d_in, hidden), nn.Sigmoid(), nn.Linear(hidden, hidden), nn.Sigmoid(), nn.Linear(hidden, d_out)
    )


def value_head(d_model: int, hidden: int = 1024) -> nn.Sequential:
    """The value MLP of §B.3 (about 2.1M parameters for Flan-T5-large's d_model 1024)."""
    return mlp_head(d_model, 1, hidden)


def action_head(d_model: int, n_actions: int, hidden: int = 1024) -> nn.Sequential:
    """The action MLP of §B.4, whose outputs are the policy's logits."""
    return mlp_head(d_model, n_actions, hidden)


#: How each agent of the LLM PPO family initialises and uses the LLM (§B.4): the study's
#: :class:`~glam_bench.paper.study.LLMInit` of gflan, aflan, npae, npa, npe and zero-shot.
VARIANTS: dict[str, LLMInit] = {a.name: a.llm for a in AGENTS
                                if a.family == LLM_PPO_FAMILY and a.llm is not None}


class PolicyOutput(NamedTuple):
    """Policy logits and values of a batch of prompts.

    ``logits``: float32 ``[n_prompts, n_candidates]``, ``PADDING_SCORE`` in
    empty slots; ``values``: ``[n_prompts]``.
    """

    logits: torch.Tensor
    values: torch.Tensor


class LLMPolicy(nn.Module):
    """An LLM with a value head and, for action-head variants, an action head; a categorical policy.

    ``softmax(logits)`` is the policy for every variant, so a PPO trainer
    computes log-probabilities and entropy the same way for all of them.
    Build one with :meth:`from_pretrained`, or wrap an already loaded model.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer,
        variant: str = "gflan",
        n_actions: int | None = None,
        scoring: ScoringConfig = ScoringConfig(),
        head_hidden: int = 1024,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown policy variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        self.variant_name = variant
        self.variant = VARIANTS[variant]
        self.llm = model
        self.scorer = CandidateScorer(model, tokenizer, scoring)
        d_model = model.config.get_text_config().hidden_size
        self.value_head = value_head(d_model, head_hidden)
        if self.variant.action_heads:
            if not n_actions:
                raise ValueError(f"variant {variant!r} uses an action head: pass n_actions")
            self.action_head = action_head(d_model, n_actions, head_hidden)
        self.n_actions = n_actions

    @classmethod
    def from_pretrained(
        cls,
        model_name: str,
        variant: str = "gflan",
        *,
        n_actions: int | None = None,
        scoring: ScoringConfig = ScoringConfig(),
        head_hidden: int = 1024,
        models_dir: str | os.PathLike | None = None,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
        adapter: AdapterConfig | None = None,
    ) -> LLMPolicy:
        """Load ``model_name`` initialised as ``variant`` requires, then add heads (seeded by ``seed``).

        With ``adapter``, LoRA is injected into the model (seeded by ``seed``) and its base frozen.
        """
        if variant not in VARIANTS:
            raise ValueError(f"unknown policy variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        spec = VARIANTS[variant]
        loaded = load_model(
            model_name,
            pretrained=spec.pretrained,
            load_embedding_only=spec.embeddings_only,
            models_dir=models_dir,
            seed=seed,
            dtype=dtype,
            device=device,
        )
        if adapter is not None:
            apply_adapter(loaded.model, adapter, seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            policy = cls(loaded.model, loaded.tokenizer, variant, n_actions, scoring, head_hidden)
        return policy.to(device)

    def set_gradient_checkpointing(self, enabled: bool) -> None:
        """Recompute each transformer layer's activations during backward (less memory, ~1/3 more compute).

        Hugging Face layers checkpoint only when they are in training mode; the
        policy keeps eval semantics (no dropout), so only the layer modules
        themselves are flagged as training, never their dropout or attention
        children. Gradients are unchanged (tested).
        """
        from transformers.modeling_layers import GradientCheckpointingLayer

        recompute = functools.partial(torch.utils.checkpoint.checkpoint, use_reentrant=False)
        for module in self.llm.modules():
            if isinstance(module, GradientCheckpointingLayer):
                module.gradient_checkpointing = enabled
                module._gradient_checkpointing_func = recompute
                module.training = enabled  # this module only: its children stay in eval mode

    @property
    def trainable(self) -> bool:
        """False for ``zero-shot``: the trainer must never update this policy."""
        return self.variant.trainable

    def forward(self, prompts: Sequence[str], candidates: Sequence[Sequence[str]]) -> PolicyOutput:
        """Policy logits over ``candidates[i]`` and the value of ``prompts[i]``, for every i."""
        if self.variant.action_heads:
            return self._action_head_forward(prompts, candidates)
        scored = self.scorer(prompts, candidates)
        return PolicyOutput(scored.scores, self.value_head(scored.hidden.float()).squeeze(-1))

    def _action_head_forward(self, prompts, candidates) -> PolicyOutput:
        if any(len(c) > self.n_actions for c in candidates):
            raise ValueError(f"the action head has {self.n_actions} outputs; got more candidates")
        hidden = self.scorer.prompt_hidden(prompts).float()
        logits = self.action_head(hidden)
        # A prompt offering fewer candidates than the head's outputs sees only its first ones.
        counts = torch.tensor([len(c) for c in candidates], device=logits.device)
        valid = torch.arange(self.n_actions, device=logits.device)[None, :] < counts[:, None]
        width = max(len(c) for c in candidates)
        logits = logits.masked_fill(~valid, PADDING_SCORE)[:, :width]
        return PolicyOutput(logits, self.value_head(hidden).squeeze(-1))
