"""The one results schema: column contracts, atomic writes, validated reads.

Every result file of the suite is a tidy CSV that can be read alone: it carries
its experiment, agent, model, preset and seed on every row. Training writes
``train_log.csv`` (one row per update, columns of §G), evaluation writes one
per-episode CSV per (run, test set), training also writes ``policy_log.csv``
(the policy-evolution log on the monitoring prompts, §B.1/§G). Figures read
only these files, through :func:`read_results`, which refuses truncated or
malformed files with the file name and line.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from glam_bench.errors import GlamBenchError

#: Columns that identify where a row came from; present in every result file.
IDENTITY_COLUMNS: tuple[str, ...] = ("experiment", "agent", "model", "preset", "seed")


def _stats(name: str) -> tuple[str, ...]:
    return tuple(f"{name}_{s}" for s in ("mean", "std", "min", "max"))


#: ``train_log.csv``: one row per update (§G). Learners may append their own
#: loss columns after these (DRRN's ``q_loss``, BC's ``ce_loss``, ...).
TRAIN_LOG_COLUMNS: tuple[str, ...] = (
    *IDENTITY_COLUMNS,
    "update", "episodes", "frames", "fps", "duration",
    *_stats("return"),
    "success_rate",
    *_stats("reshaped_return"),
    *_stats("num_frames"),
    "entropy", "policy_loss", "value_loss", "loss", "grad_norm",
)

#: ``train_log.csv`` columns that measure the machine, not the run: they differ between two
#: runs of one config (a resumed run and an uninterrupted one). ``checkpoint_s`` is added by
#: the training loop (seconds spent writing checkpoints before the row).
TIMING_COLUMNS: tuple[str, ...] = ("fps", "duration", "checkpoint_s")

#: Per-episode evaluation file: one row per test episode (§D.1).
EPISODE_COLUMNS: tuple[str, ...] = (
    *IDENTITY_COLUMNS,
    "test", "episode", "task_kind", "return", "success", "length",
)

#: ``policy_log.csv``: probability of each action on each monitoring prompt, per update.
POLICY_LOG_COLUMNS: tuple[str, ...] = (
    *IDENTITY_COLUMNS, "update", "prompt_id", "action", "probability",
)

SCHEMAS: dict[str, tuple[str, ...]] = {
    "train_log": TRAIN_LOG_COLUMNS,
    "episodes": EPISODE_COLUMNS,
    "policy_log": POLICY_LOG_COLUMNS,
}

_INTEGER_COLUMNS = {"seed", "update", "episodes", "frames", "episode", "length", "prompt_id"}
#: How a float column may spell "no value" (an update in which no episode finished).
_MISSING_VALUES = ("", "nan", "NaN")
_TEXT_COLUMNS = {"experiment", "agent", "model", "preset", "test", "task_kind", "action", "env"}


class ResultFileError(GlamBenchError, ValueError):
    """A result file is missing, truncated or malformed; the message names file and line."""


#: What to do when the disk refuses a write, by errno: these are the user's to fix, not bugs.
_REFUSED_WRITES: dict[int, str] = {
    errno.ENOSPC: "no space left on its disk; free some space (or point work_dir and "
                  "results_dir at another disk)",
    errno.EDQUOT: "the disk quota is exceeded; free some space or ask for a larger quota",
    errno.EFBIG: "the file-size limit is reached; raise it (ulimit -f unlimited)",
}


class DiskFullError(ResultFileError):
    """The disk refused a write (full, over quota, file-size limit); names the file and the fix."""


def _refused_write(error: BaseException) -> OSError | None:
    """The disk's refusal behind ``error``: torch.save reports it as a RuntimeError
    ("unexpected pos") whose context holds the OSError."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError) and error.errno in _REFUSED_WRITES:
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[io.IOBase]:
    """Open a temporary file beside ``path`` and rename it over ``path`` on success.

    A killed job therefore never leaves a half-written file that looks complete,
    and a write the disk refuses (full disk, quota, file-size limit) leaves the
    previous file as it was and raises :class:`DiskFullError` naming ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        newline = None if "b" in mode else ""
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; result files are meant to be shared
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        refused = _refused_write(error)
        if refused is not None:
            raise DiskFullError(
                f"{path}: cannot write it: {_REFUSED_WRITES[refused.errno]}; then run the same "
                "command again (the previous file is kept as it was)") from error
        raise


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, read in chunks (a checkpoint can be many GB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_csv(path: str | os.PathLike, frame: pd.DataFrame, kind: str) -> None:
    """Write ``frame`` atomically after checking it has every column of schema ``kind``."""
    missing = [c for c in SCHEMAS[kind] if c not in frame.columns]
    if missing:
        raise ResultFileError(f"{path}: cannot write a {kind} file without columns {missing}")
    ordered = list(SCHEMAS[kind]) + [c for c in frame.columns if c not in SCHEMAS[kind]]
    with atomic_open(path) as handle:
        frame[ordered].to_csv(handle, index=False)


def with_rows(text: str, rows: Sequence[dict], kind: str, path: str | os.PathLike) -> str:
    """``text`` (a result CSV's content, "" for none) with ``rows`` appended, header first."""
    buffer = io.StringIO()
    for row in rows:
        columns = list(SCHEMAS[kind]) + [k for k in row if k not in SCHEMAS[kind]]
        missing = [c for c in SCHEMAS[kind] if c not in row]
        if missing:
            raise ResultFileError(f"{path}: row lacks {kind} columns {missing}")
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        if not text and not buffer.tell():
            writer.writeheader()
        writer.writerow(row)
    return text + buffer.getvalue()


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_open(path) as handle:
        handle.write(text)


def append_csv_row(path: str | os.PathLike, row: dict, kind: str) -> str:
    """Append one row to a result CSV, rewriting it atomically (files are small).

    The whole file is rewritten through :func:`atomic_open`, so a kill between
    updates leaves the previous complete file, never a torn last line. Returns
    the file's new content.
    """
    path = Path(path)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    text = with_rows(existing, [row], kind, path)
    write_text(path, text)
    return text


class OutputPathError(GlamBenchError, OSError):
    """An output path that cannot be written; checked before any work is done."""


def check_output_path(path: str | os.PathLike, is_dir: bool = False) -> Path:
    """Refuse, before hours of work, an output that could not be written at the end.

    The path must not be a folder (or, with ``is_dir``, a file), and its nearest
    existing ancestor must be a writable folder (missing folders are created later).
    """
    path = Path(path)
    if path.exists() and path.is_dir() != is_dir:
        wanted = "a folder" if is_dir else "a file"
        raise OutputPathError(f"{path}: output path exists and is not {wanted}; choose another")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(f"{path}: cannot create it, {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(f"{path}: cannot write into {ancestor} (permission denied)")
    return path


# --- evaluation records ------------------------------------------------------------------
# Each per-episode CSV has a small JSON record beside it, written by the evaluation after the
# CSV: how many episodes it wrote, the CSV's sha256, the test protocol they were played under
# (task sampling and counting, §A.5, §D.1) and what was evaluated (the checkpoint's sha256, or
# the config's for an untrained agent). A failed CSV write leaves the previous pair intact; a
# kill between the two writes leaves a record whose digest does not match the CSV, which the
# report refuses. The report compares the CSV's rows with the count, so a CSV cut at a line
# boundary (half its episodes, still well-formed) is refused instead of averaged, names the
# protocol in its captions (glam_bench.report.fidelity), and refuses a test of a policy other
# than the one its run's done.json names (glam_bench.report.data).

#: Keys naming what an evaluation evaluated, in ``done.json`` and in the evaluation record.
EVALUATED_KEYS: tuple[str, ...] = ("checkpoint_sha256", "config_sha256")


def episode_record_path(csv_path: str | os.PathLike) -> Path:
    """``tests/<test>.json`` beside ``tests/<test>.csv``."""
    return Path(csv_path).with_suffix(".json")


def write_episode_record(csv_path: str | os.PathLike, episodes: int, test: str,
                         **fields: object) -> Path:
    """Record that ``csv_path`` (already written: its digest is taken from disk) holds
    ``episodes`` episodes of ``test``, with ``fields``: the protocol (``task_sampling``,
    ``counting``, ``num_envs``) and what was evaluated (:data:`EVALUATED_KEYS`)."""
    import json

    record = episode_record_path(csv_path)
    data = {"test": test, "episodes": int(episodes), "csv_sha256": file_sha256(csv_path),
            **fields}
    with atomic_open(record) as handle:
        json.dump(data, handle, sort_keys=True)
        handle.write("\n")
    return record


def episode_record(csv_path: str | os.PathLike) -> dict | None:
    """The evaluation record of ``csv_path``; None when there is none."""
    import json

    record = episode_record_path(csv_path)
    if not record.is_file():
        return None
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        int(data["episodes"])
    except (ValueError, KeyError, TypeError) as error:
        raise ResultFileError(f"{record}: unreadable evaluation record ({error}); "
                              "re-run the evaluation that writes it") from error
    return data


def recorded_episodes(csv_path: str | os.PathLike) -> int | None:
    """The episode count the evaluation recorded for ``csv_path``; None when there is no record."""
    record = episode_record(csv_path)
    return None if record is None else int(record["episodes"])


def rerun_hint(path: str | os.PathLike) -> str:
    """The step that writes ``path`` again: its evaluation for ``tests/*``, else its training."""
    step = "evaluation (glam-bench evaluate)" if Path(path).parent.name == "tests" \
        else "training (glam-bench train)"
    return f"re-run its {step}"


def read_result_text(path: str | os.PathLike) -> str:
    """A result file's text; ResultFileError naming it when missing or not UTF-8 (binary)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ResultFileError(f"{path}: cannot read it ({error.strerror}); {rerun_hint(path)}") \
            from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ResultFileError(f"{path}: not a text file (byte 0x{data[error.start]:02x} at offset "
                              f"{error.start} is not UTF-8), so it was damaged; "
                              f"{rerun_hint(path)}") from None


def read_result_json(path: str | os.PathLike) -> dict:
    """A run's JSON file (run.json, done.json, an evaluation record) as a mapping;
    ResultFileError naming it when missing, empty, cut, binary or not a mapping."""
    path = Path(path)
    text = read_result_text(path)
    if not text.strip():
        raise ResultFileError(f"{path}: the file is empty; {rerun_hint(path)}")
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ResultFileError(f"{path}: not valid JSON, the file was cut or changed ({error}); "
                              f"{rerun_hint(path)}") from None
    if not isinstance(data, dict):
        raise ResultFileError(f"{path}: holds a JSON {type(data).__name__}, not a mapping; "
                              f"{rerun_hint(path)}")
    return data


def read_results(path: str | os.PathLike, kind: str) -> pd.DataFrame:
    """Read a result CSV of schema ``kind``, refusing anything malformed.

    Checks: the file exists and is not empty; the header has every schema
    column; every line has as many fields as the header (a truncated last line
    fails); identity and integer columns parse. Errors name the file and line.
    """
    path = Path(path)
    if kind not in SCHEMAS:
        raise ValueError(f"unknown result kind {kind!r}; choose one of {sorted(SCHEMAS)}")
    if not path.is_file():
        raise ResultFileError(f"{path}: result file not found")
    text = read_result_text(path)
    if not text.strip():
        raise ResultFileError(f"{path}: result file is empty")
    if not text.endswith("\n"):
        raise ResultFileError(
            f"{path}, line {text.count(chr(10)) + 1}: file is truncated (no final newline); "
            "re-run the step that writes it"
        )
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    missing = [c for c in SCHEMAS[kind] if c not in header]
    if missing:
        raise ResultFileError(f"{path}, line 1: header lacks {kind} columns {missing}")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ResultFileError(
                f"{path}, line {number}: expected {len(header)} fields, found {len(row)}"
            )
    frame = pd.DataFrame(rows[1:], columns=header)
    for column in header:
        if column in _TEXT_COLUMNS:
            continue
        converted = pd.to_numeric(frame[column], errors="coerce")
        bad = converted.isna() & ~frame[column].isin(_MISSING_VALUES)
        if bad.any():
            number = int(bad.to_numpy().nonzero()[0][0]) + 2
            raise ResultFileError(
                f"{path}, line {number}: column {column!r} has non-numeric value "
                f"{frame[column].iloc[number - 2]!r}"
            )
        frame[column] = converted
        if column in _INTEGER_COLUMNS:
            if converted.isna().any():
                number = int(converted.isna().to_numpy().nonzero()[0][0]) + 2
                raise ResultFileError(f"{path}, line {number}: column {column!r} is empty")
            frame[column] = converted.astype("int64")
    return frame


def concat_results(paths: Sequence[str | os.PathLike], kind: str) -> pd.DataFrame:
    """Read and stack many result files of one kind (each validated)."""
    frames = [read_results(p, kind) for p in paths]
    if not frames:
        return pd.DataFrame(columns=list(SCHEMAS[kind]))
    return pd.concat(frames, ignore_index=True)
