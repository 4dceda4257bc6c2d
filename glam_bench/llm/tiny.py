"""Tiny, locally built language models that stand in for Flan-T5 and GPT-2 offline.

No weights can be downloaded at run time (DESIGN.md, "Offline by default"), so
the CI and default presets use models built here from nothing: a BPE tokenizer
trained on the environment's own corpus (:mod:`glam_bench.llm.corpus`) and
seeded random weights. They are saved in Hugging Face format and loaded by the
same code as a real checkpoint (:mod:`glam_bench.llm.loading`), so every code
path the paper's runs take is exercised.

Building is deterministic: the same name and seed give byte-identical files.

Built-in names (:data:`TINY_MODELS`):

* ``tiny-t5``: the CI/default model, a T5 with Flan-T5's gated-GELU feed-forward
  and untied output embedding, d_model 64, 2+2 layers.
* ``tiny-t5-small`` / ``tiny-t5-large`` / ``tiny-t5-xl``: Flan-T5 small/large/xl
  shapes scaled down (width /16, depth /4) for the model-size study (§F.1).
* ``tiny-gpt2``: a small GPT-2, the causal-LM branch (§B.4's GPT2-large run).
* ``random-flan-t5-small``: the real Flan-T5-small shape (d_model 512, 8+8
  layers, 6 heads, d_ff 1024, gated-gelu, vocabulary 32128) with random
  weights and the tiny tokenizer, for speed benchmarks (~300 MB when saved).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import shutil
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

from glam_bench.llm.corpus import corpus_sentences
from glam_bench.llm.names import TINY_MODELS, TinySpec

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"  # ids 0, 1, 2 as in T5
#: Seed of the built models' "pretrained" weights; far from run seeds, so a random
#: init (``load_model(pretrained=False, seed=s)``) never recreates them.
BUILD_SEED = 20230206
TOKENIZER_VOCAB_SIZE = 2048  # an upper bound; the corpus yields ~560 tokens
_ALPHABET = list(string.printable) + list("àâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ’«»")


# --- Tokenizer -------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _trained_bpe() -> str:
    """Train the BPE model once per process; returned serialised so callers get fresh copies."""
    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    # Metaspace, like SentencePiece, keeps spaces and newlines so decode(encode(s)) == s.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB_SIZE,
        special_tokens=[PAD, EOS, UNK],
        initial_alphabet=_ALPHABET,
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus_sentences(), trainer)
    return tokenizer.to_str()


def build_tokenizer(family: str = "t5") -> PreTrainedTokenizerFast:
    """The corpus tokenizer: pad 0, ``</s>`` 1, ``<unk>`` 2.

    For ``"t5"`` it appends ``</s>`` like the Hugging Face T5 tokenizer does
    (with ``add_special_tokens=True``); for ``"gpt2"`` it adds nothing and uses
    ``</s>`` as its begin/end-of-text token.
    """
    tokenizer = Tokenizer.from_str(_trained_bpe())
    eos_id = tokenizer.token_to_id(EOS)
    if family == "t5":
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"$A {EOS}", pair=f"$A {EOS} $B {EOS}", special_tokens=[(EOS, eos_id)]
        )
        return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=PAD, eos_token=EOS, unk_token=UNK)
    if family == "gpt2":
        return PreTrainedTokenizerFast(
            tokenizer_object=tokenizer, pad_token=PAD, eos_token=EOS, bos_token=EOS, unk_token=UNK
        )
    raise ValueError(f"unknown model family {family!r}")


# --- Models ------------------------------------------------------------------------


def _vocab_size(spec: TinySpec, tokenizer: PreTrainedTokenizerFast) -> int:
    return spec.vocab_size or -(-len(tokenizer) // 64) * 64


def _t5_model(spec: TinySpec, vocab_size: int) -> T5ForConditionalGeneration:
    config = T5Config(
        vocab_size=vocab_size,
        d_model=spec.d_model,
        d_kv=spec.d_kv,
        d_ff=spec.d_ff,
        num_layers=spec.num_layers,
        num_decoder_layers=spec.num_layers,
        num_heads=spec.num_heads,
        feed_forward_proj="gated-gelu",
        tie_word_embeddings=False,  # Flan-T5 (T5 v1.1) has a separate output embedding
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    model = T5ForConditionalGeneration(config)
    # std d_model**-0.5 keeps random logits near unit scale, so a tiny stand-in for a
    # pretrained model starts from a spread-out policy instead of a near-deterministic one.
    untie_output_embeddings(model, std=spec.d_model**-0.5)
    return model


def untie_output_embeddings(model: PreTrainedModel, std: float | None = None) -> None:
    """Give a T5 its own random output embedding, as Flan-T5 has.

    transformers 5 always ties T5's ``lm_head`` to the shared embedding when
    building from a config (it unties only when a checkpoint holds both), so a
    Flan-shaped model built from scratch needs this. By default initialised
    like transformers' untied T5 ``lm_head`` (normal, std = initializer_factor).
    """
    model.config.tie_word_embeddings = False
    output = model.get_output_embeddings()
    if output.weight is not model.get_input_embeddings().weight:
        return
    std = model.config.initializer_factor if std is None else std
    output.weight = torch.nn.Parameter(torch.empty_like(output.weight).normal_(0.0, std))


def _gpt2_model(spec: TinySpec, vocab_size: int) -> GPT2LMHeadModel:
    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=1024,
        n_embd=spec.d_model,
        n_layer=spec.num_layers,
        n_head=spec.num_heads,
        n_inner=spec.d_ff,
        bos_token_id=1,
        eos_token_id=1,
        pad_token_id=0,
    )
    return GPT2LMHeadModel(config)


def build_model(name: str, seed: int = BUILD_SEED) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """Build a built-in model in memory with seeded random weights, in eval mode."""
    spec = _spec(name)
    tokenizer = build_tokenizer(spec.family)
    vocab_size = _vocab_size(spec, tokenizer)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _t5_model(spec, vocab_size) if spec.family == "t5" else _gpt2_model(spec, vocab_size)
    return model.eval(), tokenizer


def _spec(name: str) -> TinySpec:
    if name not in TINY_MODELS:
        raise KeyError(f"unknown built-in model {name!r}; known: {', '.join(TINY_MODELS)}")
    return TINY_MODELS[name]


def save_model(name: str, directory: str | os.PathLike, seed: int = BUILD_SEED) -> Path:
    """Build ``name`` and write it to ``directory`` (replaced if present) in Hugging Face format."""
    model, tokenizer = build_model(name, seed)
    # Under torch.distributed, transformers writes a model only on rank 0: a torchrun rank 1
    # that won the build lock published a folder without config or weights, which rank 0
    # then deleted while rank 1 loaded it. This process builds the whole model, whatever rank.
    model.should_save_on_this_rank = lambda is_main_process: True
    directory = Path(directory)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    missing = [f for f in ("config.json", "model.safetensors") if not (directory / f).exists()]
    if missing:
        raise RuntimeError(f"building {name}: save_pretrained wrote no {', '.join(missing)} "
                           f"in {directory}")
    return directory


#: flock errors of file systems without working locks (some Lustre and NFS mounts).
_NO_LOCKS = (errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP)


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[bool]:
    """One builder at a time where the file system can lock (yields True); elsewhere (False)
    builders race, and :func:`ensure_built`'s rename settles the race."""
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError as error:
            if error.errno not in _NO_LOCKS:
                raise
            yield False
        else:
            yield True


def ensure_built(name: str, models_dir: str | os.PathLike) -> Path:
    """Return ``models_dir/name``, building it first if missing.

    Concurrent builders (parallel pipeline jobs, torchrun ranks) wait on a lock
    and then find the finished folder. Each build goes to a temporary sibling
    folder renamed into place, so no process ever loads a half-written model;
    where the lock does not work, a builder whose rename finds the folder
    already there keeps that one (builds are byte-identical) and drops its own.
    """
    _spec(name)
    target = Path(models_dir) / name
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(target.parent / f".{name}.lock") as alone:
        if (target / "config.json").exists():
            return target
        if alone and target.exists():  # a partial folder left by a build from before the rename
            shutil.rmtree(target)  # (unlocked, it could be another builder's finished one)
        scratch = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
        try:
            save_model(name, scratch / name)
            try:
                (scratch / name).rename(target)
            except OSError:
                if not (target / "config.json").exists():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target
