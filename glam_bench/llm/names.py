"""The names of the models the suite knows offline, declared once as data (no torch import).

The built-in tiny models (:data:`TINY_MODELS`, built by :mod:`glam_bench.llm.tiny`)
and the one real model fetched from the package index (:data:`SMOLLM2`, by
:mod:`glam_bench.llm.registry`). Kept apart from the modules that build and
fetch them so that checking a preset's model names (``glam_bench.pipeline.preset_checks``,
run at every Snakemake start) costs no torch or transformers import.
"""

from __future__ import annotations

from dataclasses import dataclass

#: SmolLM2-135M-Instruct, fetched with ``glam-bench models fetch smollm2-135m`` (issue 11).
SMOLLM2 = "smollm2-135m"
#: Models ``glam-bench models fetch`` installs.
FETCHABLE_MODELS: tuple[str, ...] = (SMOLLM2,)

#: The Hub commit of each Flan-T5 size that runs fetch: the most recent snapshot seen in public
#: Hugging Face caches (not re-checked against the Hub here, which this machine cannot reach).
FLAN_T5_REVISIONS = {
    "small": "0fc9ddf78a1e988dac52e2dac162b0ede4fd74ab",
    "base": "7bcac572ce56db69c1ea7c8af255c5d7c9672fc2",
    "large": "0613663d0d48ea86ba8cb3d7a44f0f65dc596a2a",
    "xl": "7d6315df2c2fb742f0f5b556879d730926ca9001",
}
#: Hub id -> the pinned commit ``hf download`` fetches: a run's weights never drift.
HUB_REVISIONS = {f"google/flan-t5-{size}": rev for size, rev in FLAN_T5_REVISIONS.items()}
#: What ``hf download`` fetches of a Hub model: safetensors weights (single or sharded), the
#: configs and the tokenizer, never the same weights again in other formats (PyTorch, TF, Flax).
HUB_FILES = ("*.safetensors", "*.json", "spiece.model")


@dataclass(frozen=True)
class TinySpec:
    """Architecture of one built-in model; ``vocab_size=None`` means the tokenizer's size, rounded up to 64."""

    family: str  # "t5" or "gpt2"
    d_model: int
    num_layers: int
    num_heads: int
    d_ff: int
    d_kv: int = 16
    vocab_size: int | None = None


TINY_MODELS: dict[str, TinySpec] = {
    "tiny-t5": TinySpec("t5", d_model=64, num_layers=2, num_heads=4, d_ff=128),
    "tiny-t5-small": TinySpec("t5", d_model=32, num_layers=2, num_heads=2, d_ff=64),
    "tiny-t5-large": TinySpec("t5", d_model=64, num_layers=6, num_heads=4, d_ff=176),
    "tiny-t5-xl": TinySpec("t5", d_model=128, num_layers=6, num_heads=8, d_ff=320),
    "tiny-gpt2": TinySpec("gpt2", d_model=64, num_layers=2, num_heads=4, d_ff=256),
    "random-flan-t5-small": TinySpec(
        "t5", d_model=512, num_layers=8, num_heads=6, d_ff=1024, d_kv=64, vocab_size=32128
    ),
}
