"""The committed result cache (``results/``): refresh it from a finished run, verify it.

Figures can be rebuilt without training from a small set of committed result
files. The cache mirrors a preset's ``results_dir``
(``runs/<experiment>/<agent>/seed-<seed>/``) but holds only the small files:
``run.json``, ``done.json``, ``train_log.csv``, ``policy_log.csv`` and
``tests/*.csv`` with their evaluation records ``tests/*.json`` -- never checkpoints.
``MANIFEST.json`` beside them records the preset, the git revision, the date,
the machine and the sha256 of every file, so a damaged or hand-edited file is
refused before a figure is drawn from it.

This module only uses the standard library: the Snakefile imports it to check
the cache before any job starts.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from glam_bench.errors import GlamBenchError
from glam_bench.runtime.results import file_sha256

MANIFEST_NAME = "MANIFEST.json"
MANIFEST_FORMAT = 1
#: Result files of a run directory that belong in the cache (tests/*.csv besides).
RUN_FILES = ("run.json", "done.json", "train_log.csv", "policy_log.csv")
#: Beside a test CSV, its evaluation record: episode count and test protocol
#: (``glam_bench.runtime.results.write_episode_record``).
RECORD_SUFFIX = ".json"
#: Every file the report reads under a results folder, wherever it lies (``report.data`` and
#: ``report.fidelity`` glob these): the cache check covers all of them, not only RUN_FILES.
REPORT_GLOBS: dict[str, str] = {
    "train_log": "**/train_log.csv",
    "policy_log": "**/policy_log.csv",
    "episodes": "**/tests/*.csv",
    "record": "**/tests/*.json",
    "run": "**/run.json",
    "done": "**/done.json",
}
#: How to restore one committed file after an accidental edit.
RESTORE_HINT = ("restore it with `git checkout -- {path}`, or rebuild the cache from a finished "
                "run with `glam-bench cache refresh`")


class CacheError(GlamBenchError, ValueError):
    """A cache that cannot be trusted or built; the message names the file and the fix."""


@dataclass(frozen=True)
class CachedFile:
    """One file of the cache: path relative to the cache folder (POSIX) and its parts."""

    path: str
    experiment: str
    agent: str
    seed: int
    kind: str  # run, done, train_log, policy_log, episodes
    test: str = ""


def parse_result_path(relative: str) -> CachedFile | None:
    """What a cache-relative path holds, or None when it is not a result file.

    ``runs/<experiment>/<agent>/seed-<seed>/<file>`` or ``.../tests/<test>.csv``.
    """
    parts = PurePosixPath(relative).parts
    if len(parts) not in (5, 6) or parts[0] != "runs" or not parts[3].startswith("seed-"):
        return None
    try:
        seed = int(parts[3][len("seed-"):])
    except ValueError:
        return None
    experiment, agent = parts[1], parts[2]
    if len(parts) == 5 and parts[4] in RUN_FILES:
        kind = parts[4].split(".")[0]
        return CachedFile(relative, experiment, agent, seed, kind)
    if len(parts) == 6 and parts[4] == "tests" and parts[5].endswith(".csv"):
        return CachedFile(relative, experiment, agent, seed, "episodes", parts[5][: -len(".csv")])
    if len(parts) == 6 and parts[4] == "tests" and parts[5].endswith(RECORD_SUFFIX):
        return CachedFile(relative, experiment, agent, seed, "record",
                          parts[5][: -len(RECORD_SUFFIX)])
    return None


def result_files(results_dir: str | os.PathLike) -> list[str]:
    """Every cacheable result file under ``results_dir``, relative and sorted."""
    root = Path(results_dir)
    found = []
    for path in (root / "runs").rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            relative = path.relative_to(root).as_posix()
            if parse_result_path(relative) is not None:
                found.append(relative)
    return sorted(found)


def report_glob(results_dir: str | os.PathLike, kind: str) -> list[Path]:
    """The files of ``kind`` (:data:`REPORT_GLOBS`) the report reads under ``results_dir``,
    sorted: every match, hidden or outside the ``runs/`` layout, except those of a nested
    cache (a subfolder with its own ``MANIFEST.json``, e.g. ``results/paper-cpu/`` inside
    ``results/``), which is another results set and never mixed into this one."""
    root = Path(results_dir)
    nested = {path.parent for path in root.glob(f"*/**/{MANIFEST_NAME}")}
    return sorted(path for path in root.glob(REPORT_GLOBS[kind]) if path.is_file()
                  and not any(folder in path.parents for folder in nested))


def report_inputs(results_dir: str | os.PathLike) -> list[str]:
    """Every file under ``results_dir`` that the report would read (:func:`report_glob`),
    relative and sorted."""
    root = Path(results_dir)
    return sorted({path.relative_to(root).as_posix() for kind in REPORT_GLOBS
                   for path in report_glob(root, kind)})


def _git_revision(where: Path) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, timeout=10,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _machine() -> dict[str, object]:
    return {"platform": platform.platform(), "machine": platform.machine(),
            "python": platform.python_version(), "cpus": os.cpu_count()}


def _write_json_atomically(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _run_revisions(results_dir: Path, files: list[str]) -> list[str]:
    """The git revisions recorded in the runs' run.json (the code that made the results)."""
    revisions = set()
    for relative in files:
        if relative.endswith("/run.json"):
            try:
                run = json.loads((results_dir / relative).read_text(encoding="utf-8"))
                revisions.add(str(run.get("environment", {}).get("git_revision", "unknown")))
            except (OSError, ValueError):
                revisions.add("unknown")
    return sorted(revisions)


def write_manifest(results_dir: str | os.PathLike, preset: str, source: str | None = None) -> Path:
    """Write ``results_dir/MANIFEST.json`` over the result files now in ``results_dir``."""
    root = Path(results_dir)
    files = result_files(root)
    if not files:
        raise CacheError(f"{root}: no result files under {root / 'runs'}; nothing to list")
    manifest = {
        "format": MANIFEST_FORMAT,
        "preset": preset,
        "git_revision": _git_revision(Path(__file__).parent),
        "run_git_revisions": _run_revisions(root, files),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": _machine(),
        "source": source or str(root),
        "files": {relative: file_sha256(root / relative) for relative in files},
    }
    path = root / MANIFEST_NAME
    _write_json_atomically(path, manifest)
    return path


def load_manifest(results_dir: str | os.PathLike) -> dict:
    """The manifest of ``results_dir``; CacheError naming the file when absent or malformed."""
    path = Path(results_dir) / MANIFEST_NAME
    if not path.is_file():
        raise CacheError(
            f"{path} not found: {results_dir} holds no cached results. Build them with "
            "`snakemake --cores all` and `glam-bench cache refresh`"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise CacheError(f"{path} is not valid JSON ({error}); {RESTORE_HINT.format(path=path)}") \
            from error
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT \
            or not isinstance(manifest.get("files"), dict) or "preset" not in manifest:
        raise CacheError(f"{path} is not a glam-bench manifest (format {MANIFEST_FORMAT}); "
                         f"{RESTORE_HINT.format(path=path)}")
    return manifest


def cached_files(manifest: dict) -> list[CachedFile]:
    """The result files a manifest lists, parsed (unknown paths raise)."""
    parsed = []
    for relative in sorted(manifest["files"]):
        entry = parse_result_path(relative)
        if entry is None:
            raise CacheError(f"{MANIFEST_NAME} lists {relative!r}, which is not a result file")
        parsed.append(entry)
    return parsed


def verify_manifest(results_dir: str | os.PathLike) -> dict:
    """Check every file of the cache against its manifest; return the manifest.

    Refuses (CacheError naming the file) a listed file that is missing or whose
    sha256 differs, and any file the report would read (:func:`report_inputs`,
    wherever it lies) that the manifest does not list: an unlisted one would
    slip into the figures unverified.
    """
    root = Path(results_dir)
    manifest = load_manifest(root)
    cached_files(manifest)
    problems = []
    for relative, expected in sorted(manifest["files"].items()):
        path = root / relative
        if not path.is_file():
            problems.append(f"{path}: listed in {MANIFEST_NAME} but missing; "
                            + RESTORE_HINT.format(path=path))
        elif file_sha256(path) != expected:
            problems.append(f"{path}: sha256 does not match {root / MANIFEST_NAME} (the file was "
                            "changed or damaged); " + RESTORE_HINT.format(path=path))
    for relative in sorted(set(result_files(root) + report_inputs(root)) - set(manifest["files"])):
        problems.append(f"{root / relative}: not listed in {root / MANIFEST_NAME}, yet the report "
                        "would read it; remove it, or refresh the cache with "
                        "`glam-bench cache refresh`")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CacheError(f"cached results refused: {problems[0]}{more}"
                         + "".join(f"\n  {p}" for p in problems[1:6]))
    return manifest


def _finished_runs(source: Path, files: list[str],
                   finished_only: bool = False) -> tuple[list[str], str]:
    """The run directories of ``source`` and their common preset; refuse unfinished runs
    (``finished_only``: leave them out, said on stdout)."""
    runs = sorted({str(PurePosixPath(f).parent) for f in files if f.endswith("/run.json")})
    if not runs:
        raise CacheError(f"{source}: no runs found (no {source}/runs/*/*/seed-*/run.json); "
                         "run the pipeline first")
    unfinished = [r for r in runs if not (source / r / "done.json").is_file()]
    if unfinished and finished_only:
        print(f"left out {len(unfinished)} unfinished run(s): {', '.join(unfinished)}")
        runs = [r for r in runs if r not in unfinished]
    elif unfinished:
        raise CacheError(f"{source / unfinished[0]} has not finished (no done.json); "
                         f"{len(unfinished)} run(s) unfinished -- let the pipeline finish first")
    presets = set()
    for run in runs:
        try:
            data = json.loads((source / run / "run.json").read_text(encoding="utf-8"))
            presets.add(data["config"]["preset"])
        except (OSError, ValueError, KeyError) as error:
            raise CacheError(f"{source / run / 'run.json'} is unreadable ({error})") from error
    if len(presets) != 1:
        raise CacheError(f"{source} mixes runs of presets {sorted(presets)}; a cache holds one")
    return runs, presets.pop()


def _run_of(relative: str) -> str:
    """The run directory (``runs/<experiment>/<agent>/seed-<n>``) of a result file."""
    return "/".join(PurePosixPath(relative).parts[:4])


def refresh_cache(source_dir: str | os.PathLike, cache_dir: str | os.PathLike,
                  preset: str | None = None, finished_only: bool = False) -> Path:
    """Replace the cache's result files by those of a finished run set and write the manifest.

    Only the small result files are copied (never checkpoints); the old
    ``runs/`` tree of the cache is swapped out only once the new one is
    complete. ``finished_only`` takes the finished runs of a campaign still
    running (each with the tests evaluated so far) and leaves the others out,
    so a long campaign is committed as it lands. Returns the manifest path.
    """
    source, cache = Path(source_dir), Path(cache_dir)
    if source.resolve() == cache.resolve():
        raise CacheError(f"the cache {cache} cannot be refreshed from itself")
    files = result_files(source)
    runs, found_preset = _finished_runs(source, files, finished_only)
    files = [f for f in files if _run_of(f) in runs]
    if preset is not None and preset != found_preset:
        raise CacheError(f"{source} holds runs of preset {found_preset!r}, not {preset!r}")
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache, prefix=".runs-"))
    try:
        for relative in files:
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / relative, target)
        old = cache / "runs"
        retired = cache / f".runs-old-{os.getpid()}"
        if old.exists():
            old.rename(retired)
        (staging / "runs").rename(old)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"copied {len(files)} result files of {len(runs)} runs from {source} to {cache}")
    return write_manifest(cache, found_preset, source=str(source))
