"""Fault injection (issue 15): each case re-run as a careful user would, and what must follow.

Every case ends in either a complete result identical to an uninterrupted run,
or a non-zero exit with one line naming the file or key -- never exit 0 with
rows lost or numbers changed. Trained runs are shared through module fixtures
(tiny-t5, ci scale, a few seconds each).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
import yaml

from glam_bench.runtime.results import TIMING_COLUMNS
from glam_bench import cli
from glam_bench.runtime.config import AdapterConfig, ConfigError, resolve_run
from glam_bench.pipeline.preset_checks import load_preset
from glam_bench.errors import GlamBenchError
from glam_bench.runtime.runlock import RunLockedError, run_lock
from glam_bench.runtime.runs import RunPaths

REPO = Path(__file__).resolve().parents[1]
CI = REPO / "workflows" / "config" / "ci.yaml"
#: Columns that measure wall-clock time, the only ones allowed to differ between two runs.
TIMING = set(TIMING_COLUMNS)
RUN = ("mixed", "gflan", 1)


def run_cli(*args: str) -> tuple[int, str, str]:
    """``glam-bench ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(args))
        except SystemExit as exit_:  # argparse
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def numbers(path: Path) -> list[dict]:
    """A log's rows without its wall-clock columns."""
    return [{k: v for k, v in row.items() if k not in TIMING} for row in rows(path)]


def write_preset(path: Path, root: Path, models: Path, **changes) -> Path:
    """The ci preset with every folder under ``root`` and 3 updates for mixed/gflan."""
    preset = yaml.safe_load(CI.read_text(encoding="utf-8"))
    preset.update(work_dir=str(root / "work"), results_dir=str(root / "work" / "results"),
                  figures_dir=str(root / "figures"), models_dir=str(models))
    preset["experiment_training"] = {"mixed": {"total_frames": 48}}
    for key, value in changes.items():
        preset[key] = value
    path.write_text(yaml.safe_dump(preset, sort_keys=False), encoding="utf-8")
    return path


def train_args(preset: Path, *extra: str) -> list[str]:
    experiment, agent, seed = RUN
    return ["train", "--config", str(preset), "--experiment", experiment, "--agent", agent,
            "--seed", str(seed), "--no-progress", *extra]


def run_paths(root: Path) -> RunPaths:
    return RunPaths.for_run(root / "work" / "results", root / "work", *RUN)


def stop_after(preset: Path, updates: int) -> None:
    """Train ``updates`` updates of the run, then stop as a killed job would."""
    from glam_bench.agents.families import build_learner
    from glam_bench.runtime.runs import seed_everything
    from glam_bench.runtime.training import train

    config = resolve_run(load_preset(preset), *RUN)
    paths = RunPaths.for_run(config.results_dir, config.work_dir, *RUN)
    seed_everything(config.seed)
    learner = build_learner(config)
    try:
        train(config, paths, learner, progress=False, stop_after=updates)
    finally:
        learner.close()


def reseal(checkpoint: Path) -> None:
    """Record a hand-edited checkpoint's digest, as if it had been written so."""
    from glam_bench.runtime.runs import digest_path, file_sha256

    digest_path(checkpoint).write_text(json.dumps({"sha256": file_sha256(checkpoint)}),
                                       encoding="utf-8")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, models) -> dict:
    """One uninterrupted run and one evaluation of it: {"root", "preset", "paths"}."""
    root = tmp_path_factory.mktemp("reference")
    preset = write_preset(root / "preset.yaml", root, models)
    code, _, err = run_cli(*train_args(preset))
    assert code == 0, err
    paths = run_paths(root)
    code, _, err = run_cli("evaluate", "--run", str(paths.results), "--test", "no_change",
                           "--episodes", "4", "--num-envs", "2", "--no-progress")
    assert code == 0, err
    return {"root": root, "preset": preset, "paths": paths}


@pytest.fixture()
def killed(tmp_path, models) -> dict:
    """A run of the same preset killed after update 2 of 3: {"preset", "paths"}."""
    preset = write_preset(tmp_path / "preset.yaml", tmp_path, models)
    stop_after(preset, 2)
    return {"preset": preset, "paths": run_paths(tmp_path)}


# --- 1. resume checks the logs against the checkpoint ----------------------------------------


DAMAGES = {
    "emptied": lambda p: p.write_text("", encoding="utf-8"),
    "deleted": lambda p: p.unlink(),
    "cut mid-line": lambda p: p.write_text(p.read_text(encoding="utf-8")[:-25], encoding="utf-8"),
    "cut at a line": lambda p: p.write_text(
        "".join(p.read_text(encoding="utf-8").splitlines(keepends=True)[:2]), encoding="utf-8"),
    "row repeated": lambda p: p.write_text(
        p.read_text(encoding="utf-8") + p.read_text(encoding="utf-8").splitlines(True)[-1],
        encoding="utf-8"),
}


@pytest.mark.parametrize("log", ["train_log", "policy_log"])
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_log_is_restored_from_the_checkpoint(killed, reference, damage, log):
    paths = killed["paths"]
    DAMAGES[damage](getattr(paths, log))
    code, _, err = run_cli(*train_args(killed["preset"]))
    assert code == 0, err
    assert "restored it from the rows the checkpoint carries" in err
    assert numbers(paths.train_log) == numbers(reference["paths"].train_log)
    assert rows(paths.policy_log) == rows(reference["paths"].policy_log)
    assert [int(r["update"]) for r in rows(paths.train_log)] == [1, 2, 3]


@pytest.mark.parametrize("damage", ["emptied", "deleted", "cut at a line"])
def test_a_finished_runs_damaged_log_is_restored_by_a_rerun(killed, reference, damage):
    """No update is left to rewrite the log: the restore itself must bring the rows back."""
    paths = killed["paths"]
    assert run_cli(*train_args(killed["preset"]))[0] == 0  # finish it
    finished = paths.train_log.read_text(encoding="utf-8")
    DAMAGES[damage](paths.train_log)
    code, _, err = run_cli(*train_args(killed["preset"]))
    assert code == 0 and "restored" in err
    assert paths.train_log.read_text(encoding="utf-8") == finished
    assert numbers(paths.train_log) == numbers(reference["paths"].train_log)


def test_rows_past_the_checkpoint_are_dropped_quietly(killed, reference):
    """A kill between a log write and its checkpoint leaves a row the resume writes again."""
    paths = killed["paths"]
    last = paths.train_log.read_text(encoding="utf-8").splitlines(keepends=True)[-1]
    paths.train_log.write_text(paths.train_log.read_text(encoding="utf-8")
                               + last.replace(",2,", ",3,", 1), encoding="utf-8")
    code, _, err = run_cli(*train_args(killed["preset"]))
    assert code == 0 and "restored" not in err
    assert numbers(paths.train_log) == numbers(reference["paths"].train_log)


def test_a_log_that_an_old_checkpoint_cannot_restore_is_refused_naming_it(killed):
    paths = killed["paths"]
    payload = torch.load(paths.checkpoint, weights_only=False)
    del payload["logs"]  # as written before checkpoints carried the logs
    torch.save(payload, paths.checkpoint)
    reseal(paths.checkpoint)
    DAMAGES["cut at a line"](paths.train_log)
    code, _, err = run_cli(*train_args(killed["preset"]))
    assert code == 2
    assert str(paths.train_log) in err and "does not hold updates 1..2" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not paths.done.exists()


def test_an_intact_log_resumes_under_an_old_checkpoint(killed, reference):
    paths = killed["paths"]
    payload = torch.load(paths.checkpoint, weights_only=False)
    del payload["logs"]
    torch.save(payload, paths.checkpoint)
    reseal(paths.checkpoint)
    code, _, err = run_cli(*train_args(killed["preset"]))
    assert code == 0, err
    assert numbers(paths.train_log) == numbers(reference["paths"].train_log)


# --- 2. one training per run directory --------------------------------------------------------


def test_a_second_training_into_a_held_run_dir_fails_at_once_naming_the_holder(killed):
    paths = killed["paths"]
    before = paths.train_log.read_text(encoding="utf-8")
    with run_lock(paths.results):
        code, _, err = run_cli(*train_args(killed["preset"]))
    assert code == 2
    assert f"process {os.getpid()}" in err and str(paths.results) in err
    assert paths.train_log.read_text(encoding="utf-8") == before
    assert not paths.done.exists()


def test_a_dead_holders_lock_never_blocks(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom glam_bench.runtime.runlock import run_lock\n"
         f"with run_lock({str(tmp_path)!r}):\n    print('held', flush=True)\n    time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunLockedError, match=f"process {holder.pid}"):
        with run_lock(tmp_path):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with run_lock(tmp_path):  # the kernel released it with the holder
        pass


# --- 3. the report checks what it reads ---------------------------------------------------------


@pytest.fixture()
def results(reference, tmp_path) -> Path:
    """A results folder holding a copy of the reference run."""
    target = tmp_path / "results" / "runs" / "mixed" / "gflan" / "seed-1"
    shutil.copytree(reference["paths"].results, target)
    return tmp_path / "results"


def report(results: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli("report", "--results", str(results), "--out", str(out), "--no-progress",
                   "--only", "extra_task_kinds", *extra)


def test_report_builds_from_a_finished_run(results, tmp_path):
    code, out, err = report(results, tmp_path / "out")
    assert code == 0, err
    assert "built" in out or (tmp_path / "out" / "summary_tests.csv").is_file()


def test_a_test_file_cut_at_a_line_boundary_is_refused(results, tmp_path):
    csv_path = results / "runs" / "mixed" / "gflan" / "seed-1" / "tests" / "no_change.csv"
    lines = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    csv_path.write_text("".join(lines[:3]), encoding="utf-8")  # header + 2 of 4 episodes
    code, _, err = report(results, tmp_path / "out")
    assert code == 2
    assert str(csv_path) in err and "holds 2 episodes, but its evaluation recorded 4" in err
    assert not (tmp_path / "out" / "summary_tests.csv").exists()


def test_a_training_log_cut_at_a_line_boundary_is_refused(results, tmp_path):
    log = results / "runs" / "mixed" / "gflan" / "seed-1" / "train_log.csv"
    DAMAGES["cut at a line"](log)
    code, _, err = report(results, tmp_path / "out")
    assert code == 2 and str(log) in err and "done.json records updates 1..3" in err


def test_runs_without_done_json_are_not_read(results, tmp_path):
    (results / "runs" / "mixed" / "gflan" / "seed-1" / "done.json").unlink()
    code, _, err = report(results, tmp_path / "out")
    assert code == 2 and "no result files of finished runs" in err and "unfinished" in err


@pytest.mark.parametrize("case", ["unknown preset", "empty folder"])
def test_a_report_that_cannot_be_built_exits_non_zero(results, tmp_path, case):
    if case == "unknown preset":
        code, _, err = report(results, tmp_path / "out", "--preset", "nope")
        assert "no results of preset 'nope'" in err and "ci" in err
    else:
        shutil.rmtree(results / "runs")
        code, _, err = report(results, tmp_path / "out")
    assert code == 2 and "Traceback" not in err


#: A damage to one run's files that status and report must name in one line.
BROKEN_RUNS = {
    "run.json cut": ("run.json", lambda p: p.write_bytes(p.read_bytes()[:40])),
    "done.json empty": ("done.json", lambda p: p.write_bytes(b"")),
    "train_log.csv binary": ("train_log.csv", lambda p: p.write_bytes(bytes(range(256)) * 8)),
}


@pytest.mark.parametrize("damage", list(BROKEN_RUNS))
def test_a_report_over_a_broken_run_is_one_line_naming_the_file(results, tmp_path, damage):
    name, damage_file = BROKEN_RUNS[damage]
    path = results / "runs" / "mixed" / "gflan" / "seed-1" / name
    damage_file(path)
    code, _, err = report(results, tmp_path / "out")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert str(path) in err and "re-run" in err


@pytest.mark.parametrize("damage", list(BROKEN_RUNS))
def test_status_shows_a_broken_run_as_one_row_and_lists_the_others(results, damage):
    runs = results / "runs" / "mixed" / "gflan"
    shutil.copytree(runs / "seed-1", runs / "seed-2")
    shutil.copytree(runs / "seed-1", runs / "seed-3")
    name, damage_file = BROKEN_RUNS[damage]
    damage_file(runs / "seed-2" / name)
    code, out, err = run_cli("status", "--results", str(results))
    assert code == 0 and err == "", err
    lines = out.strip().splitlines()
    assert len(lines) == 4  # the header and one row per run
    healthy = [line for line in lines if "seed-1" in line or "seed-3" in line]
    assert len(healthy) == 2 and all("done" in line and "100.0%" in line for line in healthy)
    broken = next(line for line in lines if "seed-2" in line)
    assert str(runs / "seed-2" / name) in broken and "re-run" in broken


def test_the_manifest_is_verified_when_reading_a_cache(results, tmp_path):
    from glam_bench.pipeline.cache import write_manifest

    for record in results.rglob("tests/*.json"):
        record.unlink()  # the committed cache has no evaluation records: the manifest vouches
    write_manifest(results, "ci")
    assert report(results, tmp_path / "out")[0] == 0
    log = results / "runs" / "mixed" / "gflan" / "seed-1" / "tests" / "no_change.csv"
    log.write_text(log.read_text(encoding="utf-8").replace(",1,", ",0,", 1), encoding="utf-8")
    code, _, err = report(results, tmp_path / "out2")
    assert code == 2 and str(log) in err and "sha256" in err


#: Where a stray run can lie in a cache so that the report reads it though no manifest path
#: names it: outside runs/, one folder deeper, or a hidden test file.
STRAY_RUNS = {"outside runs/": "copy/seed-7", "nested": "runs/mixed/gflan/seed-1/old",
              "hidden file": "runs/mixed/gflan/seed-1"}


@pytest.mark.parametrize("place", list(STRAY_RUNS))
def test_the_cache_check_covers_every_file_the_report_reads(results, tmp_path, place):
    """An unlisted test file of a 'seed 7' the report would average in is refused by name."""
    from glam_bench.pipeline.cache import write_manifest

    run = results / "runs" / "mixed" / "gflan" / "seed-1"
    for record in results.rglob("tests/*.json"):
        record.unlink()
    write_manifest(results, "ci")
    stray = results / STRAY_RUNS[place]
    name = ".no_change.csv" if place == "hidden file" else "no_change.csv"
    (stray / "tests").mkdir(parents=True, exist_ok=True)
    if stray != run:
        shutil.copyfile(run / "done.json", stray / "done.json")
    episodes = rows(run / "tests" / "no_change.csv")
    with (stray / "tests" / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(episodes[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "seed": "7", "success": "1"} for row in episodes)
    code, _, err = report(results, tmp_path / "out")
    assert code == 2 and str(stray / "tests" / name) in err and "not listed" in err, err
    code, _, err = run_cli("cache", "verify", "--results", str(results))
    assert code == 2 and str(stray / "tests" / name) in err, err


def test_a_nested_cache_is_its_own_results_set(results, tmp_path):
    """results/paper-cpu/ (its own MANIFEST.json) inside results/: the outer cache neither
    refuses its files as unlisted nor reads them, and it verifies on its own."""
    from glam_bench.pipeline.cache import CacheError, report_inputs, verify_manifest, write_manifest

    for record in results.rglob("tests/*.json"):
        record.unlink()
    write_manifest(results, "ci")
    outer = set(report_inputs(results))
    nested = results / "paper-cpu"
    shutil.copytree(results / "runs", nested / "runs")
    write_manifest(nested, "paper-cpu")
    assert set(report_inputs(results)) == outer
    verify_manifest(results)
    verify_manifest(nested)
    code, _, err = report(results, tmp_path / "out")
    assert code == 0, err
    (nested / "MANIFEST.json").unlink()  # without its manifest, it is stray files of this cache
    with pytest.raises(CacheError, match="not listed"):
        verify_manifest(results)


# --- 4. threads recorded; the hand run is the pipeline's run -------------------------------------


@pytest.mark.slow
def test_the_readme_hand_run_reproduces_the_pipeline_bit_for_bit(reference, tmp_path, models):
    """The README's `glam-bench train` (no --threads), in a fresh process with torch's default
    thread count, against the pipeline's command (`--threads 1`, the reference run)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    hand = next(line for line in readme.splitlines() if line.startswith("glam-bench train "))
    assert "--threads" not in hand
    preset = write_preset(tmp_path / "preset.yaml", tmp_path, models)
    args = hand.split()[1:]
    args[args.index("--config") + 1] = str(preset)
    args[args.index("--experiment") + 1], args[args.index("--agent") + 1] = RUN[0], RUN[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OMP_NUM_THREADS", None)
    subprocess.run([sys.executable, "-m", "glam_bench.cli", *args, "--no-progress"], env=env,
                   check=True, capture_output=True, timeout=600)
    paths = run_paths(tmp_path)
    assert numbers(paths.train_log) == numbers(reference["paths"].train_log)
    assert rows(paths.policy_log) == rows(reference["paths"].policy_log)
    environment = json.loads(paths.run_json.read_text())["environment"]
    assert environment["torch_threads"] == 1


def test_run_json_records_threads_and_library_versions(reference):
    environment = json.loads(reference["paths"].run_json.read_text())["environment"]
    assert environment["torch_threads"] == 1
    for library in ("torch", "transformers", "numpy", "tokenizers", "gymnasium", "minigrid"):
        assert environment[library] and environment[library] != "not installed"


# --- 5. checks when the DAG is built, and the same in the CLI -------------------------------------


def _bad(preset: dict, case: str) -> None:
    """Break ``preset`` (a ci preset dict) as the issue's case ``case`` does."""
    if case == "agent_training/symbolic_ppo":
        preset["agent_training"]["symbolic_ppo"] = {"num_envs": 2}
    elif case == "recurrence":
        preset["agent_training"]["symbolic-ppo"]["symbolic_ppo"]["recurrence"] = 3
    elif case == "experiment":
        preset["experiments"].append("nowhere")
    elif case == "model":
        preset["training"]["model"] = "tiny-t6"
    elif case == "seeds":
        preset["seeds"] = ["1"]
    elif case == "text_fixes":
        preset["training"]["text_fixes"] = "yes"
    elif case == "preset name":
        preset["preset"] = "ci/../../x"
    elif case == "device":
        preset["training"]["device"] = "cuda"


#: case -> words the one-line message must hold (the key it names).
BAD_PRESETS = {
    "agent_training/symbolic_ppo": "agent_training/symbolic_ppo: unknown agent",
    "recurrence": "multiple of recurrence (3)",
    "experiment": "experiments/nowhere: unknown experiment 'nowhere'",
    "model": "unknown model 'tiny-t6'",
    "seeds": "'seeds/0': '1' is not of type 'integer'",
    "text_fixes": "'training/text_fixes': 'yes' is not of type 'boolean'",
    "preset name": "preset: 'ci/../../x' is not a safe name",
    "device": "device is 'cuda' but no CUDA device is available",
}


def bad_preset(tmp_path: Path, case: str) -> Path:
    preset = yaml.safe_load(CI.read_text(encoding="utf-8"))
    preset.update(work_dir=str(tmp_path / "work"), results_dir=str(tmp_path / "work" / "results"),
                  figures_dir=str(tmp_path / "figures"))
    _bad(preset, case)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(preset, sort_keys=False), encoding="utf-8")
    return path


def cli_refusal(preset: Path, case: str) -> str:
    """The CLI's message for the bad preset (train refuses it before any work)."""
    experiment, agent = ("mixed", "symbolic-ppo") if case == "recurrence" else ("mixed", "gflan")
    code, _, err = run_cli("train", "--config", str(preset), "--experiment", experiment,
                           "--agent", agent, "--seed", "1", "--no-progress")
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("case", list(BAD_PRESETS))
def test_a_bad_preset_is_refused_by_the_cli_naming_the_key(tmp_path, case):
    if case == "device" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert BAD_PRESETS[case] in cli_refusal(bad_preset(tmp_path, case), case)
    assert not (tmp_path / "work" / "results").exists()


@pytest.mark.parametrize("case", list(BAD_PRESETS))
def test_a_bad_preset_stops_the_dag_naming_the_key(tmp_path, case):
    if case == "device" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(bad_preset(tmp_path, case))],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert BAD_PRESETS[case] in result.stdout + result.stderr
    assert not (tmp_path / "work").exists()  # nothing written (ci/../../x would be work/x.yaml)


def test_a_duplicate_key_is_refused_with_its_line(tmp_path):
    text = CI.read_text(encoding="utf-8").replace("seeds: [1]\n", "seeds: [1]\nseeds: [2]\n")
    path = tmp_path / "dup.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("seeds: [2]") + 1
    with pytest.raises(ConfigError, match=rf"line {line}, column 1: duplicate key 'seeds'"):
        load_preset(path)
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", str(path)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert f"line {line}, column 1: duplicate key" in result.stdout + result.stderr


def test_a_yaml_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("preset: ci\nseeds: [1\ntraining: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.yaml, line \d+, column \d+: not valid YAML"):
        load_preset(path)


def alias_bomb(tmp_path: Path) -> Path:
    """The ci preset, 2 KB, whose seeds are 9 nested aliases: 9**9 strings once walked."""
    levels = "abcdefghi"
    lines = ["bomb_a: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    lines += [f"bomb_{name}: &{name} [" + ", ".join([f"*{below}"] * 9) + "]"
              for below, name in zip(levels, levels[1:])]
    text = "\n".join(lines) + "\n" + CI.read_text(encoding="utf-8").replace(
        "seeds: [1]\n", "seeds: *i\n")
    assert "seeds: *i" in text and len(text) < 2500
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _capped(seconds: int = 60):
    """Run a child under 2 GB of address space: an alias bomb then fails fast, not the machine."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    return {"preexec_fn": limit, "timeout": seconds, "capture_output": True, "text": True,
            "cwd": REPO, "env": {**os.environ, "PYTHONPATH": str(REPO)}}


@pytest.mark.parametrize("command", ["cli", "snakemake"])
def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path, command):
    preset = alias_bomb(tmp_path)
    if command == "cli":
        args = ["-m", "glam_bench.cli", *train_args(preset)]
    else:
        args = ["-m", "snakemake", "-n", "--configfile", str(preset)]
    try:
        result = subprocess.run([sys.executable, *args], **_capped())
    except subprocess.TimeoutExpired:
        pytest.fail(f"{command} still expanding the alias bomb after 60 s")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "MemoryError" not in output
    assert f"{preset}, line 1, column 9: YAML anchor &a refused" in output
    if command == "cli":
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_an_alias_is_refused_naming_its_line(tmp_path):
    path = tmp_path / "alias.yaml"
    path.write_text(CI.read_text(encoding="utf-8") + "notes: *nowhere\n", encoding="utf-8")
    line = len(CI.read_text(encoding="utf-8").splitlines()) + 1
    with pytest.raises(ConfigError, match=rf"line {line}, column 8: YAML alias \*nowhere refused"):
        load_preset(path)


# --- 6. user errors are one line, bugs keep their traceback ---------------------------------------


@pytest.mark.parametrize("args", [
    ["play", "--episodes", "0"], ["play", "--episodes", "-3"],
    ["evaluate", "--run", "x", "--test", "no_change", "--episodes", "0"],
    ["evaluate", "--run", "x", "--test", "no_change", "--episodes", "-3"],
    ["evaluate", "--run", "x", "--test", "no_change", "--num-envs", "0"],
    ["train", "--config", "x", "--experiment", "e", "--agent", "a", "--seed", "-1"],
])
def test_bad_arguments_are_refused_by_the_parser(args):
    code, _, err = run_cli(*args)
    assert code == 2 and "must be a" in err and "Traceback" not in err


@pytest.mark.parametrize("encoding", ["utf-16", "binary", "latin-1"])
def test_a_preset_that_is_not_utf8_is_one_line_naming_it(tmp_path, encoding):
    path = tmp_path / "preset.yaml"
    text = CI.read_text(encoding="utf-8").replace("preset: ci", "preset: ci # café")
    if encoding == "binary":
        path.write_bytes(bytes(range(256)) * 4)
    else:
        path.write_bytes(text.encode(encoding))
    code, _, err = run_cli(*train_args(path))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{path}: a preset is UTF-8 text, found " in err and "save it as UTF-8" in err
    assert ("UTF-16" in err) == (encoding == "utf-16")


@pytest.mark.parametrize("name", ["nope", "google/flan-t5-large"])
def test_models_fetch_of_a_name_it_cannot_fetch_is_one_line(tmp_path, name):
    code, _, err = run_cli("models", "fetch", name, "--models-dir", str(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    if name == "nope":
        assert "unknown model 'nope'" in err and "smollm2-135m" in err
        assert "glam-bench models list" in err
    else:
        assert f"hf download {name} --revision " in err and f"--local-dir {tmp_path}" in err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["evaluate", "play"])
def test_an_absurd_episode_count_is_refused_by_the_parser(command):
    args = ["--run", "x", "--test", "no_change"] if command == "evaluate" else []
    code, _, err = run_cli(command, *args, "--episodes", str(10**12))
    assert code == 2 and "Traceback" not in err
    assert "--episodes: must be at most 1000000 (the paper plays 1000 per test)" in err


def test_an_unwritable_evaluate_out_is_refused_before_any_episode(reference, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    code, _, err = run_cli("evaluate", "--run", str(reference["paths"].results), "--test",
                           "no_change", "--episodes", "100000", "--out", str(blocker / "x.csv"),
                           "--no-progress")
    assert code == 2 and f"{blocker} is a file" in err  # 100000 episodes would take hours


def test_a_report_out_under_a_file_is_refused(results, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    code, _, err = report(results, blocker / "out")
    assert code == 2 and f"{blocker} is a file" in err


@pytest.mark.parametrize("args", [
    ["play", "--agent", "robot", "--episodes", "1"],
    ["train", "--config", str(CI), "--experiment", "mixed", "--agent", "robot", "--seed", "1"],
])
def test_an_unknown_agent_is_one_line_naming_the_agents(args):
    code, _, err = run_cli(*args)
    assert code == 2 and "unknown agent 'robot'" in err and "random, bot" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_library_value_error_keeps_its_traceback(monkeypatch):
    """Only the suite's own errors (GlamBenchError) become one line: a ValueError from torch,
    numpy or peft is a bug, even where the suite translates one of their messages."""
    import peft

    from glam_bench.llm.adapters import apply_adapter

    def broken(config, model):
        raise ValueError("a shape mismatch deep in a library")

    model = torch.nn.Linear(2, 2)
    model.config = types.SimpleNamespace(model_type="t5")
    monkeypatch.setattr(peft, "inject_adapter_in_model", broken)
    with pytest.raises(ValueError, match="shape mismatch") as raised:
        apply_adapter(model, AdapterConfig(target_modules=("q",)), seed=0)
    assert not isinstance(raised.value, GlamBenchError)


def test_a_bug_keeps_its_traceback(monkeypatch):
    def broken(args):
        raise ValueError("a bug, not a user error")

    monkeypatch.setattr(cli, "_play", broken)
    with pytest.raises(ValueError, match="a bug"):
        cli.main(["play"])


# --- 8. a full disk or a file-size limit is one line, and the run resumes ------------------------


@contextlib.contextmanager
def file_size_limit(size: int):
    """Writes past ``size`` bytes fail with EFBIG (SIGXFSZ ignored, as Python does)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_a_file_size_limit_during_a_checkpoint_write_is_one_line_and_the_run_resumes(
        killed, reference):
    paths = killed["paths"]
    before = paths.checkpoint.read_bytes()
    logs = max(paths.train_log.stat().st_size, paths.policy_log.stat().st_size)
    assert len(before) > 4 * logs  # the limit stops the checkpoint, not the logs
    with file_size_limit(2 * logs):
        code, _, err = run_cli(*train_args(killed["preset"]))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert f"{paths.checkpoint}: cannot write it: the file-size limit" in err
    assert "ulimit -f" in err and "unexpected pos" not in err
    assert paths.checkpoint.read_bytes() == before  # the last good checkpoint is kept
    assert not list(paths.work.glob(".checkpoint.pt.*.tmp"))
    code, _, err = run_cli(*train_args(killed["preset"]))
    assert code == 0, err
    assert numbers(paths.train_log) == numbers(reference["paths"].train_log)


def test_a_full_disk_during_a_csv_write_is_one_line_naming_it(reference, tmp_path, monkeypatch):
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    out = tmp_path / "tests" / "no_change.csv"
    monkeypatch.setattr(os, "fsync", full)  # ENOSPC surfaces at the flush on many filesystems
    code, _, err = run_cli("evaluate", "--run", str(reference["paths"].results), "--test",
                           "no_change", "--episodes", "2", "--num-envs", "2", "--out", str(out),
                           "--no-progress")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert ": cannot write it: no space left on its disk" in err and str(tmp_path) in err
    assert not out.exists() and not list(tmp_path.rglob("*.tmp"))


# --- 7. paths ------------------------------------------------------------------------------------


def test_evaluate_from_another_directory_finds_the_checkpoint(models, tmp_path, monkeypatch):
    """run.json written by a run started with relative folders, as the pipeline does."""
    project = tmp_path / "project"
    project.mkdir()
    preset = yaml.safe_load(CI.read_text(encoding="utf-8"))
    preset.update(work_dir="work", results_dir="work/results", models_dir=str(models))
    preset["experiment_training"] = {"mixed": {"total_frames": 16}}
    (project / "p.yaml").write_text(yaml.safe_dump(preset), encoding="utf-8")
    monkeypatch.chdir(project)
    assert run_cli("train", "--config", "p.yaml", "--experiment", "mixed", "--agent", "gflan",
                   "--seed", "1", "--no-progress")[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    run_dir = project / "work" / "results" / "runs" / "mixed" / "gflan" / "seed-1"
    code, _, err = run_cli("evaluate", "--run", str(run_dir), "--test", "no_change",
                           "--episodes", "2", "--num-envs", "2", "--no-progress")
    assert code == 0, err


def test_stray_temporary_checkpoints_are_removed(killed):
    paths = killed["paths"]
    stray = paths.work / ".checkpoint.pt.k1ll3d.tmp"
    stray.write_bytes(b"half a checkpoint")
    log_stray = paths.results / ".train_log.csv.k1ll3d.tmp"
    log_stray.write_text("half", encoding="utf-8")
    assert run_cli(*train_args(killed["preset"]))[0] == 0
    assert not stray.exists() and not log_stray.exists()


def test_a_train_results_dir_under_a_file_is_refused_before_training(reference, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    code, _, err = run_cli(*train_args(reference["preset"], "--results-dir", str(blocker / "r")))
    assert code == 2 and f"{blocker} is a file" in err
