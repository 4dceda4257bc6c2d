"""SentencePiece unigram tokenizer for the DRRN, trained locally and deterministically.

The authors shipped an 8k unigram model (§B.5) whose training text is unknown.
We train our own on the environment corpus (``corpus.py``) instead, so nothing
is downloaded. BabyAI-Text has only a few hundred distinct words, so
SentencePiece cannot reach 8000 pieces; we ask for the requested size with a
soft limit, read how many pieces the corpus supports, and retrain with a hard
limit at exactly that size. The final size is therefore the largest the corpus
supports, and the model's own ``trainer_spec.vocab_size`` records it; a JSON
sidecar (``<model>.json``) records it too, with the corpus hash.

Determinism: one training thread (thread count changes the bytes), the whole
corpus used (no sentence sampling), fixed special ids. Training twice on the
same corpus gives byte-identical models.

Runs get their tokenizer from :func:`ensure_tokenizer`: built once into the
models folder (``<models_dir>/drrn/unigram_<size>.model``) and loaded from
there afterwards; it is rebuilt only when the corpus changed. Learners also
keep the model bytes in their checkpoints, so a trained DRRN is always read
with the exact tokenizer it was trained with.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import sentencepiece as spm

from glam_bench.agents.drrn.corpus import build_corpus

PAD_ID = 0
UNK_ID = 1
#: The authors' vocabulary size (§B.5); a request, capped by what the corpus supports.
PAPER_VOCAB_SIZE = 8000

_TRAINER_OPTIONS = dict(
    model_type="unigram",
    character_coverage=1.0,  # every character of the corpus gets a piece: no <unk> on it
    num_threads=1,  # more threads give different bytes
    input_sentence_size=0,  # use every sentence, no random sampling
    pad_id=PAD_ID,
    unk_id=UNK_ID,
    bos_id=-1,  # tdqn's DRRN encodes without BOS/EOS
    eos_id=-1,
    minloglevel=2,
)


def _train_bytes(corpus: Sequence[str], vocab_size: int, hard_limit: bool) -> bytes:
    writer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus),
        model_writer=writer,
        vocab_size=vocab_size,
        hard_vocab_limit=hard_limit,
        **_TRAINER_OPTIONS,
    )
    return writer.getvalue()


def train_model_proto(
    corpus: Sequence[str] | None = None, requested_vocab_size: int = PAPER_VOCAB_SIZE
) -> bytes:
    """Serialized unigram model with the largest vocabulary <= the request that the corpus supports."""
    corpus = build_corpus() if corpus is None else list(corpus)
    probe = _train_bytes(corpus, requested_vocab_size, hard_limit=False)
    supported = spm.SentencePieceProcessor(model_proto=probe).get_piece_size()
    # Retrain with a hard limit so the model's trainer_spec states the true size.
    return _train_bytes(corpus, min(supported, requested_vocab_size), hard_limit=True)


def corpus_sha256(corpus: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(corpus).encode("utf-8")).hexdigest()


class DRRNTokenizer:
    """Thin wrapper over a SentencePiece processor: text <-> token ids, pad id 0."""

    pad_id = PAD_ID
    unk_id = UNK_ID

    def __init__(self, model_proto: bytes, metadata: dict | None = None):
        self.model_proto = model_proto
        self.processor = spm.SentencePieceProcessor(model_proto=model_proto)
        self.metadata = dict(metadata or {})
        self.metadata.setdefault("vocab_size", self.vocab_size)

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.processor.encode(text, out_type=int)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self.processor.encode(list(texts), out_type=int)

    def decode(self, ids: Sequence[int]) -> str:
        return self.processor.decode(list(ids))

    def save(self, path: str | Path) -> None:
        """Write ``path`` (the .model) and ``path.json`` (metadata), each atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, self.model_proto)
        meta = json.dumps(self.metadata, indent=2, sort_keys=True).encode("utf-8")
        _atomic_write(metadata_path(path), meta)

    @classmethod
    def load(cls, path: str | Path) -> "DRRNTokenizer":
        path = Path(path)
        meta_file = metadata_path(path)
        metadata = json.loads(meta_file.read_text("utf-8")) if meta_file.exists() else None
        return cls(path.read_bytes(), metadata)


def metadata_path(model_path: str | Path) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + ".json")


def build_tokenizer(
    path: str | Path | None = None,
    corpus: Sequence[str] | None = None,
    requested_vocab_size: int = PAPER_VOCAB_SIZE,
) -> DRRNTokenizer:
    """Train the DRRN tokenizer on the environment corpus and save it to ``path`` if given."""
    corpus = build_corpus() if corpus is None else list(corpus)
    proto = train_model_proto(corpus, requested_vocab_size)
    tokenizer = DRRNTokenizer(proto)
    tokenizer.metadata.update(
        requested_vocab_size=requested_vocab_size,
        corpus_sentences=len(corpus),
        corpus_sha256=corpus_sha256(corpus),
        sentencepiece_version=spm.__version__,
        model_type="unigram",
    )
    if path is not None:
        tokenizer.save(path)
    return tokenizer


def tokenizer_path(models_dir: str | Path, requested_vocab_size: int = PAPER_VOCAB_SIZE) -> Path:
    """Where runs keep the DRRN tokenizer inside the models folder."""
    return Path(models_dir) / "drrn" / f"unigram_{requested_vocab_size}.model"


def ensure_tokenizer(
    models_dir: str | Path, requested_vocab_size: int = PAPER_VOCAB_SIZE
) -> DRRNTokenizer:
    """Load the tokenizer from ``models_dir``, building it there first if missing or stale.

    Idempotent and safe to race: building is deterministic and every write is
    atomic, so concurrent runs at worst write the same bytes twice.
    """
    path = tokenizer_path(models_dir, requested_vocab_size)
    corpus, digest = _environment_corpus()
    if path.exists() and metadata_path(path).exists():
        tokenizer = DRRNTokenizer.load(path)
        if tokenizer.metadata.get("corpus_sha256") == digest:
            return tokenizer
    return build_tokenizer(path, corpus, requested_vocab_size)


@lru_cache(maxsize=1)
def _environment_corpus() -> tuple[tuple[str, ...], str]:
    """The corpus and its hash, computed once per process (about a second)."""
    corpus = tuple(build_corpus())
    return corpus, corpus_sha256(corpus)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
