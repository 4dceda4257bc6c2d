"""Behavioural cloning as a suite learner: cross-entropy on the action text (§C, §E.6).

:class:`BCLearner` fine-tunes the run's seq2seq model (``AutoModelForSeq2SeqLM``
inside the GFlan :class:`~glam_bench.llm.heads.LLMPolicy`) on stored
demonstrations (:mod:`glam_bench.agents.bc.collect`), as the authors'
``clm_behavioral-cloning.py`` did:

* input: the §B.1 prompt of the transition, rebuilt from the stored episode
  with the run's ``nbr_obs``, tokenised exactly as the candidate scorer
  tokenises prompts (``</s>`` appended when ``append_eos``, as the HF T5
  tokenizer did for the authors); batches are padded to their longest prompt,
  which for an encoder with an attention mask equals the authors' padding to
  1,024 tokens; prompts are never truncated;
* target: the action text's tokens (+ ``</s>`` when ``append_eos``) padded
  with the pad token to 3 positions (§C), never truncated; the decoder input
  is the target shifted right after the start token, and the loss is the
  model's token-mean cross-entropy over *all* 3 positions: the authors did
  not mask pad labels to -100 (``mask_pad_labels: false``, the default);
  ``mask_pad_labels: true`` leaves them out;
* AdamW (lr 5e-4, betas 0.9/0.999, eps 1e-8, weight decay 0), linear warm-up
  over 1% of the steps then cosine decay to 0, ``epochs`` epochs of batches of
  ``batch_size``, no gradient clipping, the model in train mode (dropout on),
  data in collection order unless ``shuffle`` (the authors did not shuffle);
* only the language model is trained; the value head of the policy is never
  used or updated (the authors' BC model had none, §C).

One update of the shared loop (:func:`glam_bench.runtime.training.train`) is
``gradient_steps_per_update`` optimizer steps followed by the held-out
evaluation on the tail split (the authors evaluated every 250 steps). Log
columns (§G): ``frames`` counts training transitions consumed (nominally
``gradient_steps_per_update x batch_size`` per update); no episodes are
played, so every episode column is NaN; ``loss`` = ``ce_loss`` (mean training CE of the
update's steps); ``grad_norm`` is the mean gradient norm (nothing is
clipped); ``entropy``, ``policy_loss`` and ``value_loss`` are NaN (no RL
objective, no value head). BC's own columns: ``ce_loss``, ``eval_ce_loss``
(held-out CE, model in eval mode), ``eval_accuracy`` (held-out transitions
whose target action gets the highest score from the candidate scorer used
for acting), ``lr`` (learning rate of the update's last step) and
``epoch`` (fractional epochs done). ``policy_log.csv`` gets the monitoring
prompts' action probabilities as for the LLM PPO agents.

Exact resume: the checkpoint holds the weights, optimizer, scheduler, step
counter, the shuffling generator and the current epoch's order; dropout draws
from torch's global generator, which every checkpoint saves and restores.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from glam_bench.agents.bc import schedule as bc_schedule
from glam_bench.agents.bc.collect import DATA_FILE, load_or_collect
from glam_bench.agents.bc.dataset import TransitionFileError
from glam_bench.agents.bc.settings import (
    TARGET_LENGTH,
    cosine_with_warmup,
    from_run_config,
)
from glam_bench.agents.llm_ppo import build_policy, monitoring_rows
from glam_bench.agents.monitoring import monitoring_prompts
from glam_bench.runtime.config import ConfigError, RunConfig
from glam_bench.runtime.devices import autocast, resolve_device
from glam_bench.llm.loading import model_weights_record
from glam_bench.llm.scoring import pad_right
from glam_bench.runtime.runs import CheckpointError, RunPaths, write_json
from glam_bench.runtime.training import Learner, Schedule, UpdateResult
from glam_bench.paper.vocabulary import ACTION_SPACES

#: The label value the loss ignores.
IGNORE_INDEX = -100
#: The policy variant whose architecture and scorer the BC agents use (§C: scoring only).
POLICY_VARIANT = "gflan"
#: The dataset summary beside the run's train_log.csv.
DATA_SUMMARY = "bc_data.json"


class BCLearner(Learner):
    """A seq2seq LLM fine-tuned by behavioural cloning on bot or GFlan-T5 demonstrations."""

    def __init__(self, config: RunConfig, progress: bool = True):
        self.config = config
        self.settings = settings = from_run_config(config)
        self.device = resolve_device(config.device)
        self.model_name = config.model
        self.candidates = list(ACTION_SPACES[config.action_space])
        # The data first: a missing source run fails before any model is loaded.
        paths = RunPaths.for_run(config.results_dir, config.work_dir, config.experiment,
                                 config.agent, config.seed)
        self.store, self.data_summary = load_or_collect(config, settings, paths.work / DATA_FILE,
                                                        progress)
        write_json(paths.results / DATA_SUMMARY, self.data_summary)
        usable = self.store.usable_steps(len(self.candidates))
        if len(usable) < settings.collected_transitions:
            raise TransitionFileError(f"{paths.work / DATA_FILE} holds {len(usable)} usable "
                                      f"transitions, fewer than {settings.collected_transitions}; "
                                      "delete it to collect again")
        self.train_steps = usable[:settings.transitions]
        self.eval_steps = usable[settings.transitions:settings.collected_transitions]
        self.data_key = json.dumps(self.store.meta["key"], sort_keys=True)

        self.policy = build_policy(config, POLICY_VARIANT, self.device)
        self.llm = self.policy.llm
        if not self.llm.config.is_encoder_decoder:
            raise ConfigError(
                f"behavioural cloning trains a seq2seq model (§C: AutoModelForSeq2SeqLM); "
                f"{config.model!r} is a causal LM")
        self.scorer = self.policy.scorer
        self.targets = action_targets(self.scorer.tokens(self.candidates), self.scorer.eos_id,
                                      self.scorer.pad_id, config.append_eos,
                                      settings.mask_pad_labels)

        self.optimizer = torch.optim.AdamW(self.llm.parameters(), lr=settings.lr, betas=(0.9, 0.999),
                                           eps=settings.adam_eps, weight_decay=settings.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, cosine_with_warmup(settings.total_steps, settings.warmup_steps))
        self.generator = torch.Generator().manual_seed(config.seed)
        self.order: torch.Tensor | None = None
        self.step = 0
        self.monitor_prompts = monitoring_prompts(self.candidates)

    def weights(self) -> dict:
        """The revision and digests of the weights ``config.model`` loads (run.json)."""
        return model_weights_record(self.config.model, self.config.models_dir)

    def schedule(self, config: RunConfig) -> Schedule:
        """Optimizer steps in chunks of ``bc.gradient_steps_per_update`` (:func:`glam_bench.agents.bc.schedule`)."""
        return bc_schedule(config)

    # --- one update ---

    def update(self) -> UpdateResult:
        settings = self.settings
        steps = min(settings.gradient_steps_per_update, settings.total_steps - self.step)
        if steps <= 0:
            raise RuntimeError(f"the BC schedule of {settings.total_steps} steps is finished")
        sums = {"ce_loss": 0.0, "grad_norm": 0.0}
        consumed, lr = 0, float("nan")
        for _ in range(steps):
            batch = self._next_batch()
            lr = self.optimizer.param_groups[0]["lr"]
            loss, grad_norm = self._train_step(batch)
            sums["ce_loss"] += loss
            sums["grad_norm"] += grad_norm
            consumed += len(batch)
        eval_ce, eval_accuracy = self.evaluate(self.eval_steps)
        ce = sums["ce_loss"] / steps
        nan = float("nan")
        losses = {"entropy": nan, "policy_loss": nan, "value_loss": nan, "loss": ce,
                  "grad_norm": sums["grad_norm"] / steps, "ce_loss": ce, "eval_ce_loss": eval_ce,
                  "eval_accuracy": eval_accuracy, "lr": lr,
                  "epoch": self.step / settings.steps_per_epoch}
        return UpdateResult(frames=consumed, episodes=[], losses=losses,
                            extra_rows={"policy_log": self._policy_rows()})

    def _next_batch(self) -> np.ndarray:
        """Flat store steps of the next training batch (collection order unless ``shuffle``)."""
        settings = self.settings
        position = self.step % settings.steps_per_epoch
        if position == 0 and settings.shuffle:
            self.order = torch.randperm(len(self.train_steps), generator=self.generator)
        chosen = np.arange(position * settings.batch_size,
                           min((position + 1) * settings.batch_size, len(self.train_steps)))
        if settings.shuffle:
            chosen = self.order[torch.from_numpy(chosen)].numpy()
        self.step += 1
        return self.train_steps[chosen]

    def _train_step(self, steps: np.ndarray) -> tuple[float, float]:
        self.llm.train()
        try:
            loss = self._loss(steps)
            self.optimizer.zero_grad(set_to_none=False)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(self.llm.parameters(), math.inf)
            self.optimizer.step()
            self.scheduler.step()
        finally:
            self.llm.eval()
        return float(loss.detach()), float(grad_norm)

    def _loss(self, steps: np.ndarray) -> torch.Tensor:
        """The model's token-mean cross-entropy of the actions taken at ``steps`` (§C)."""
        input_ids, attention_mask, labels = self.batch_tensors(steps)
        with autocast(self.device, self.config.precision):
            output = self.llm(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        return output.loss.float()

    def prompts(self, steps: Sequence[int]) -> list[str]:
        """The §B.1 prompts of flat store steps, rebuilt with the run's ``nbr_obs``."""
        return [self.store.prompt(int(s), self.config.nbr_obs, self.candidates) for s in steps]

    def batch_tensors(self, steps: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Input ids, attention mask and labels of flat store steps, on the device."""
        eos = (self.scorer.eos_id,) if self.config.append_eos else ()
        tokens = [ids + eos for ids in self.scorer.tokens(self.prompts(steps))]
        input_ids, attention_mask = pad_right(tokens, self.scorer.pad_id)
        labels = self.targets[[self.store.action(int(s)) for s in steps]]
        return (input_ids.to(self.device), attention_mask.to(self.device), labels.to(self.device))

    @torch.no_grad()
    def evaluate(self, steps: np.ndarray) -> tuple[float, float]:
        """Held-out (CE, accuracy): CE as in training but in eval mode, averaged over batches
        weighted by their size; accuracy of the candidate scorer's best action."""
        if len(steps) == 0:
            return float("nan"), float("nan")
        total_ce, correct = 0.0, 0
        size = self.settings.batch_size
        for start in range(0, len(steps), size):
            batch = steps[start:start + size]
            total_ce += float(self._loss(batch)) * len(batch)
            with autocast(self.device, self.config.precision):
                output = self.policy(self.prompts(batch), [self.candidates] * len(batch))
            chosen = output.logits.float().argmax(dim=-1).cpu()
            actions = torch.tensor([self.store.action(int(s)) for s in batch])
            correct += int((chosen == actions).sum())
        return total_ce / len(steps), correct / len(steps)

    def _policy_rows(self) -> list[dict]:
        return monitoring_rows(self.policy, self.monitor_prompts, self.candidates, self.device)

    # --- state ---

    def state_dict(self) -> dict[str, Any]:
        return {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "step": self.step,
                "generator": self.generator.get_state(), "order": self.order,
                "data_key": self.data_key}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["data_key"] != self.data_key:
            raise CheckpointError(
                "this BC checkpoint was trained on transitions collected under other settings "
                f"than the stored ones ({DATA_FILE}); delete the run's checkpoint to restart it")
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = int(state["step"])
        self.generator.set_state(state["generator"])
        self.order = state["order"]


def action_targets(action_tokens: Sequence[Sequence[int]], eos_id: int, pad_id: int,
                   append_eos: bool, mask_pad_labels: bool) -> torch.Tensor:
    """Label rows of each action text: its tokens (+ ``</s>``), padded to at least
    :data:`~glam_bench.agents.bc.settings.TARGET_LENGTH` (3, §C) with ``pad_id``, or
    with -100 when ``mask_pad_labels``. Row ``k`` is env action ``k``."""
    rows = [list(ids) + ([eos_id] if append_eos else []) for ids in action_tokens]
    width = max(TARGET_LENGTH, *map(len, rows))
    fill = IGNORE_INDEX if mask_pad_labels else pad_id
    return torch.tensor([row + [fill] * (width - len(row)) for row in rows], dtype=torch.long)
