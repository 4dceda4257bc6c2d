"""Where a model's files live on disk and whether they are all there, without torch.

The loader (:mod:`glam_bench.llm.loading`) and the pipeline's pre-flight check
(:mod:`glam_bench.pipeline.plan`, run at every Snakemake start) must agree on
what "the model is present" means, and the check must not import torch or
transformers: both read these file-system rules from here.
"""

from __future__ import annotations

import os
from pathlib import Path

from glam_bench.llm.names import FETCHABLE_MODELS, HUB_FILES, HUB_REVISIONS

#: Single-file and sharded (index) checkpoints, safetensors first.
WEIGHT_FILE_PAIRS = (
    ("model.safetensors", "model.safetensors.index.json"),
    ("pytorch_model.bin", "pytorch_model.bin.index.json"),
)
WEIGHT_FILES = tuple(name for pair in WEIGHT_FILE_PAIRS for name in pair)
TOKENIZER_FILES = ("tokenizer.json", "spiece.model", "vocab.json", "tokenizer.model")


def folder_name(name: str) -> str:
    """The folder of ``name`` under the models folder (a Hub id's last part)."""
    return name.rstrip("/").split("/")[-1]


def fetch_command(name: str, models_dir: str | os.PathLike) -> str:
    """The one-time shell command that puts ``name`` where the loader finds it."""
    if name in FETCHABLE_MODELS:
        return f"glam-bench models fetch {name} --models-dir {models_dir}"
    revision = f" --revision {HUB_REVISIONS[name]}" if name in HUB_REVISIONS else ""
    patterns = "".join(f" --include '{pattern}'" for pattern in HUB_FILES)
    return f"hf download {name}{revision}{patterns} --local-dir {Path(models_dir) / folder_name(name)}"


def is_complete(folder: Path, need_weights: bool) -> bool:
    """Whether ``folder`` has a config, a tokenizer and (if ``need_weights``) weights."""
    has = lambda files: any((folder / f).exists() for f in files)  # noqa: E731
    return (folder / "config.json").exists() and has(TOKENIZER_FILES) and \
        (has(WEIGHT_FILES) or not need_weights)


def hub_cache_folder(name: str) -> Path | None:
    """The snapshot folder of a Hub id in the local cache, without touching the network."""
    from huggingface_hub import try_to_load_from_cache  # torch-free, imported on use only

    try:
        config = try_to_load_from_cache(name, "config.json")
    except Exception:  # not a valid repo id (e.g. a local path): nothing cached
        return None
    return Path(config).parent if isinstance(config, str) else None


def local_folders(name: str, models_dir: str | os.PathLike) -> list[Path]:
    """Where the loader looks for a model that is not built in, in order: ``name`` as a
    folder, ``models_dir/<last part of name>``, the Hugging Face cache."""
    folders = [Path(name), Path(models_dir) / folder_name(name)]
    cached = hub_cache_folder(name)
    return folders + ([cached] if cached is not None else [])


def find_model(name: str, models_dir: str | os.PathLike, need_weights: bool = True) -> Path | None:
    """The first complete folder of ``name`` (None: not on this machine)."""
    return next((f for f in local_folders(name, models_dir) if is_complete(f, need_weights)), None)
