"""Behavioural-cloning settings and their schedule arithmetic (§C "Behavioural cloning", §E.6).

One frozen record, built from a run's ``bc`` block (keys declared under
``$defs/bc`` in ``preset_schema.yaml``) over the paper's values:

=========================  =====================  ==================================================
key                        paper (§C)             meaning
=========================  =====================  ==================================================
transitions                400,000                training split: the first N usable transitions
eval_transitions           9 x batch_size (576)   held-out tail split right after them (see below)
lr                         5e-4                   AdamW (eps 1e-8, weight decay 0, betas 0.9/0.999)
epochs                     1
batch_size                 64                     8 per device x 8 GPUs, no accumulation
warmup_fraction            0.01                   linear warm-up over 1% of the steps, then cosine
gradient_steps_per_update  250                    optimizer steps per ``train_log.csv`` row
mask_pad_labels            false                  the authors trained on the padded label positions
shuffle                    false                  the authors' DataLoader kept collection order
source_experiment          gotolocal              where bc-gflan's trained gflan run lives
=========================  =====================  ==================================================

The authors kept everything after their first 400,000 transitions "for
evaluation" and evaluated on 9 batches of it every 250 steps (their
``max_eval_steps`` of 8 per device, loop breaking after step 8), so their
held-out CE covered 9 x 64 = 576 transitions; ``eval_transitions`` defaults
to that 9 x batch_size.

Schedule. ``steps_per_epoch = ceil(transitions / batch_size)`` (the last batch
may be partial, as a DataLoader without ``drop_last``), ``total_steps =
epochs x steps_per_epoch`` (6,250 in the paper) and the warm-up lasts
``warmup_fraction x total_steps`` steps, not rounded, as the authors passed
it. One training "update" of the shared loop is ``gradient_steps_per_update``
optimizer steps (the last one may be shorter; DRRN's config names the same
quantity the same way); when unset it is the authors' evaluation interval,
250, lowered to ``ceil(total_steps / 8)`` for short runs so that every run
logs at least 8 rows. The loop's frame count of an update is
``gradient_steps_per_update x batch_size`` training transitions.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from glam_bench.runtime.config import ConfigError, RunConfig
from glam_bench.paper.study import AGENTS

#: The authors' evaluation interval in optimizer steps (§C).
PAPER_EVALUATION_INTERVAL = 250
#: Short runs lower the default interval so a run logs at least this many rows.
MIN_LOGGED_UPDATES = 8
#: Batches of the authors' held-out evaluation (§C; ``max_eval_steps`` 8, inclusive).
PAPER_EVAL_BATCHES = 9
#: Target length: the action text padded to 3 tokens (§C), never truncated.
TARGET_LENGTH = 3

#: The learners these settings serve, and where their demonstrations come from (the study's).
SOURCES: dict[str, str] = {a.name: a.demonstrator for a in AGENTS if a.kind == "bc"}


@dataclass(frozen=True)
class BCSettings:
    """Resolved behavioural-cloning settings of one run; defaults are the paper's (§C)."""

    transitions: int = 400_000
    eval_transitions: int | None = None
    lr: float = 5e-4
    adam_eps: float = 1e-8
    weight_decay: float = 0.0
    epochs: int = 1
    batch_size: int = 64
    warmup_fraction: float = 0.01
    gradient_steps_per_update: int | None = None
    mask_pad_labels: bool = False
    shuffle: bool = False
    source_experiment: str = "gotolocal"

    #: Fields a preset may not set (fixed by §C).
    FIXED = ("adam_eps", "weight_decay")

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.transitions / self.batch_size)

    @property
    def total_steps(self) -> int:
        """Optimizer steps of the whole run (6,250 with the paper's values)."""
        return self.epochs * self.steps_per_epoch

    @property
    def warmup_steps(self) -> float:
        """Linear warm-up length in steps, unrounded (62.5 in the paper)."""
        return self.warmup_fraction * self.total_steps

    @property
    def num_updates(self) -> int:
        """Rows of ``train_log.csv``: the steps in chunks of ``gradient_steps_per_update``."""
        return math.ceil(self.total_steps / self.gradient_steps_per_update)

    @property
    def transitions_per_update(self) -> int:
        """Training transitions consumed by a full update (the loop's frames per update)."""
        return self.gradient_steps_per_update * self.batch_size

    @property
    def collected_transitions(self) -> int:
        """Usable transitions to collect: the training split then the held-out tail."""
        return self.transitions + self.eval_transitions


def from_run_config(run: RunConfig) -> BCSettings:
    """Paper defaults overridden by ``run.bc``, with the optional sizes resolved (§C).

    Named as the other families' settings builders: the preset checks call it through
    the agent's ``settings`` module in :mod:`glam_bench.paper.study`."""
    overrides = dict(run.bc or {})
    allowed = sorted(f.name for f in dataclasses.fields(BCSettings) if f.name not in BCSettings.FIXED)
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown bc settings {unknown}; allowed keys: {allowed}")
    settings = BCSettings(**overrides)
    if settings.eval_transitions is None:
        settings = dataclasses.replace(
            settings, eval_transitions=PAPER_EVAL_BATCHES * settings.batch_size)
    if settings.gradient_steps_per_update is None:
        automatic = min(PAPER_EVALUATION_INTERVAL,
                        max(1, math.ceil(settings.total_steps / MIN_LOGGED_UPDATES)))
        settings = dataclasses.replace(settings, gradient_steps_per_update=automatic)
    for name in ("transitions", "eval_transitions", "epochs", "batch_size",
                 "gradient_steps_per_update"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"bc.{name} must be at least 1, got {getattr(settings, name)}")
    return settings


def cosine_with_warmup(total_steps: int, warmup_steps: float):
    """The LR multiplier of step ``k`` (0-based): ``k / warmup`` during the warm-up, then a
    half cosine from 1 down to 0 at ``total_steps`` (the "cosine" schedule of §C).

    Step 0 has multiplier 0 when there is a warm-up, as with the authors' scheduler.
    """

    def multiplier(step: int) -> float:
        if step < warmup_steps:
            return step / max(1.0, warmup_steps)
        progress = (step - warmup_steps) / max(1.0, total_steps - warmup_steps)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

    return multiplier
