"""Fault injection, round two (issue 23 items 1-4, issue 22 item 3): checkpoints and tests.

A retrained run never reports its old tests; a checkpoint is verified against the
digest written with it before anything is taken from it; an evaluation writes its CSV
before the record that describes it; a checkpoint moved aside by a preset edit is never
lost and is resumed when the edit is reverted; checkpoints load memory-mapped.
Each case ends in a complete, consistent result or a non-zero exit with one line naming
the file -- never exit 0 with a number from the wrong policy.
"""

from __future__ import annotations

import contextlib
import csv
import json
import shutil
import struct
import zipfile
from pathlib import Path

import pytest
import torch
import yaml

from glam_bench.runtime import runs
from glam_bench.runtime.runs import CheckpointError, RunPaths
from tests.test_faults import run_cli, stop_after, train_args, write_preset


def paths_of(root: Path) -> RunPaths:
    return RunPaths.for_run(root / "work" / "results", root / "work", "mixed", "gflan", 1)


def evaluate(paths: RunPaths, *extra: str) -> tuple[int, str, str]:
    return run_cli("evaluate", "--run", str(paths.results), "--test", "no_change",
                   "--episodes", "4", "--num-envs", "2", "--no-progress", *extra)


def report(results: Path, out: Path) -> tuple[int, str, str]:
    return run_cli("report", "--results", str(results), "--out", str(out), "--no-progress",
                   "--only", "extra_task_kinds")


def edit(preset: Path, reward_scale: float) -> None:
    """Change one training setting of the preset (one that changes what the run computes)."""
    data = yaml.safe_load(preset.read_text(encoding="utf-8"))
    data["training"]["reward_scale"] = reward_scale
    preset.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, models) -> Path:
    """A finished, evaluated run of 3 updates; its root folder (copied by :func:`finished`)."""
    root = tmp_path_factory.mktemp("evaluated")
    preset = write_preset(root / "preset.yaml", root, models)
    code, _, err = run_cli(*train_args(preset))
    assert code == 0, err
    code, _, err = evaluate(paths_of(root))
    assert code == 0, err
    return root


@pytest.fixture()
def finished(evaluated, tmp_path, models) -> dict:
    """A private copy of the evaluated run, its preset pointing at the copy."""
    shutil.copytree(evaluated / "work", tmp_path / "work")
    preset = write_preset(tmp_path / "preset.yaml", tmp_path, models)
    return {"root": tmp_path, "preset": preset, "paths": paths_of(tmp_path)}


def flip_a_weight_byte(checkpoint: Path) -> None:
    """Flip one byte inside the largest tensor of a torch zip archive; its pickle stays loadable."""
    with zipfile.ZipFile(checkpoint) as archive:
        entry = max((i for i in archive.infolist() if "/data/" in i.filename),
                    key=lambda i: i.file_size)
    with checkpoint.open("r+b") as handle:
        handle.seek(entry.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", handle.read(4))
        position = entry.header_offset + 30 + name_length + extra_length + entry.file_size // 2
        handle.seek(position)
        byte = handle.read(1)[0]
        handle.seek(position)
        handle.write(bytes([byte ^ 0x10]))
    torch.load(checkpoint, weights_only=False)  # still loads: only a digest can tell


# --- item 1: tests are tied to the checkpoint they evaluated -------------------------------------


def test_the_test_record_names_the_checkpoint_done_json_names(finished):
    paths = finished["paths"]
    record = json.loads((paths.results / "tests" / "no_change.json").read_text(encoding="utf-8"))
    done = json.loads(paths.done.read_text(encoding="utf-8"))
    assert record["checkpoint_sha256"] == done["checkpoint_sha256"]
    assert done["checkpoint_sha256"] == runs.file_sha256(paths.checkpoint)


def test_a_retrain_from_scratch_removes_the_old_tests(finished):
    paths = finished["paths"]
    edit(finished["preset"], 10)
    code, _, err = run_cli(*train_args(finished["preset"]))
    assert code == 0, err
    assert not list((paths.results / "tests").glob("*")), "old tests outlived their policy"
    assert "no_change.csv" in err and "evaluate" in err


def test_the_report_refuses_a_test_of_another_checkpoint(finished, tmp_path):
    """Tests that came back (copied, restored by a sync) after a retrain are refused, not shown."""
    paths = finished["paths"]
    old_tests = tmp_path / "old-tests"
    shutil.copytree(paths.results / "tests", old_tests)
    edit(finished["preset"], 10)
    assert run_cli(*train_args(finished["preset"]))[0] == 0
    shutil.copytree(old_tests, paths.results / "tests", dirs_exist_ok=True)
    code, _, err = report(paths.results.parents[3], tmp_path / "out")
    csv_path = paths.results / "tests" / "no_change.csv"
    assert code == 2, err
    assert str(csv_path) in err and "checkpoint" in err and "evaluate" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "summary_tests.csv").exists()


# --- item 2: a checkpoint is verified before use -------------------------------------------------


def test_a_flipped_weight_byte_stops_evaluate_naming_the_checkpoint(finished):
    paths = finished["paths"]
    csv_before = (paths.results / "tests" / "no_change.csv").read_bytes()
    flip_a_weight_byte(paths.checkpoint)
    code, _, err = evaluate(paths, "--counting", "first_finished")
    assert code == 2
    assert str(paths.checkpoint) in err and "digest" in err
    assert len(err.strip().splitlines()) == 1
    assert (paths.results / "tests" / "no_change.csv").read_bytes() == csv_before


def test_a_flipped_weight_byte_stops_a_resume(tmp_path, models):
    preset = write_preset(tmp_path / "preset.yaml", tmp_path, models)
    stop_after(preset, 2)
    paths = paths_of(tmp_path)
    log_before = paths.train_log.read_text(encoding="utf-8")
    flip_a_weight_byte(paths.checkpoint)
    code, _, err = run_cli(*train_args(preset))
    assert code == 2 and str(paths.checkpoint) in err and "digest" in err
    assert paths.train_log.read_text(encoding="utf-8") == log_before
    assert not paths.done.exists()


def test_a_damaged_log_inside_a_checkpoint_never_overwrites_the_good_log(finished):
    paths = finished["paths"]
    good = paths.train_log.read_text(encoding="utf-8")
    payload = torch.load(paths.checkpoint, weights_only=False)
    text = payload["logs"]["train_log"]
    last_row = text.rstrip("\n").rsplit("\n", 1)[1]
    payload["logs"]["train_log"] = text.replace(last_row, last_row.replace(",3,", ",4,", 1))
    assert payload["logs"]["train_log"] != text
    torch.save(payload, paths.checkpoint)
    code, _, err = run_cli(*train_args(finished["preset"]))
    assert code == 2 and str(paths.checkpoint) in err
    assert paths.train_log.read_text(encoding="utf-8") == good


def test_a_checkpoint_without_its_digest_is_refused(finished):
    paths = finished["paths"]
    runs.digest_path(paths.checkpoint).unlink()
    with pytest.raises(CheckpointError, match="no digest"):
        runs.load_checkpoint(paths.checkpoint)


def test_a_checkpoint_from_before_digests_is_read_unverified_not_lost(tmp_path, capsys):
    """A run in progress when the suite gained digests resumes (said on stderr); only a
    checkpoint of today's format needs its digest."""
    path = tmp_path / "checkpoint.pt"
    torch.save({"format": runs.UNVERIFIED_FORMAT, "update": 5}, path)
    assert runs.load_checkpoint(path)["update"] == 5
    assert "read unverified" in capsys.readouterr().err
    torch.save({"format": runs.CHECKPOINT_FORMAT, "update": 5}, path)
    with pytest.raises(CheckpointError, match="no digest"):
        runs.load_checkpoint(path)


def test_a_kill_between_digest_and_rename_keeps_the_previous_checkpoint_usable(tmp_path,
                                                                               monkeypatch):
    """The digest is written before the checkpoint's rename; until the rename it vouches for both."""
    path = tmp_path / "checkpoint.pt"
    runs.save_checkpoint(path, {"update": 1})

    def killed(*_):
        raise KeyboardInterrupt  # as a kill between the two writes

    monkeypatch.setattr(runs.os, "replace", lambda src, dst: (
        killed() if Path(dst) == path else shutil.move(src, dst)))
    with pytest.raises(KeyboardInterrupt):
        runs.save_checkpoint(path, {"update": 2})
    monkeypatch.undo()
    assert runs.load_checkpoint(path)["update"] == 1
    runs.save_checkpoint(path, {"update": 3})
    assert runs.load_checkpoint(path)["update"] == 3


# --- item 3: the CSV is written before the record that describes it ------------------------------


def test_a_failed_csv_write_leaves_no_record_of_the_new_evaluation(finished, monkeypatch):
    from glam_bench.evaluation import evaluate as evaluation

    paths = finished["paths"]
    record = paths.results / "tests" / "no_change.json"
    before = record.read_text(encoding="utf-8")

    def full_disk(*_, **__):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(evaluation, "write_csv", full_disk)
    with contextlib.suppress(OSError):  # how the CLI reports a full disk is not this test's
        assert evaluate(paths, "--counting", "first_finished")[0] != 0
    assert record.read_text(encoding="utf-8") == before  # still describes the CSV on disk


def test_a_record_that_does_not_describe_its_csv_is_refused(finished, tmp_path):
    """The CSV was rewritten but its record was not (a kill between): the report refuses it."""
    paths = finished["paths"]
    csv_path = paths.results / "tests" / "no_change.csv"
    with csv_path.open(encoding="utf-8") as handle:
        episodes = list(csv.DictReader(handle))
    episodes[0]["success"] = str(1 - int(episodes[0]["success"]))  # same count, another number
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(episodes[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(episodes)
    code, _, err = report(paths.results.parents[3], tmp_path / "out")
    assert code == 2 and str(csv_path) in err and "re-run its evaluation" in err


# --- item 4: a checkpoint moved aside is kept, and resumed when the edit is reverted ------------


def test_a_reverted_preset_edit_resumes_the_checkpoint_moved_aside(finished):
    paths, preset = finished["paths"], finished["preset"]
    original_log = paths.train_log.read_text(encoding="utf-8")
    original_digest = runs.file_sha256(paths.checkpoint)
    for reward_scale in (10, 5):  # two edits: each moves the previous checkpoint aside
        edit(preset, reward_scale)
        assert run_cli(*train_args(preset))[0] == 0
    assert len(list(paths.work.glob("checkpoint.pt.*.stale"))) == 2  # none overwrote the other
    edit(preset, 20)  # back to the ci preset's value
    code, _, err = run_cli(*train_args(preset))
    assert code == 0, err
    assert "resum" in err
    assert runs.file_sha256(paths.checkpoint) == original_digest
    # restored from the checkpoint, not retrained: even the wall-clock columns are the first run's
    assert paths.train_log.read_text(encoding="utf-8") == original_log
    run = json.loads(paths.run_json.read_text(encoding="utf-8"))
    assert run["config"]["reward_scale"] == 20
    assert json.loads(paths.done.read_text(encoding="utf-8"))["checkpoint_sha256"] == \
        original_digest
    assert len(list(paths.work.glob("checkpoint.pt.*.stale"))) == 2  # the two edits' runs


def test_a_reverted_edit_resumes_an_unfinished_checkpoint(tmp_path, models):
    """A run stopped at update 2 of 3, edited, then reverted, continues to the same result."""
    preset = write_preset(tmp_path / "preset.yaml", tmp_path, models)
    stop_after(preset, 2)
    paths = paths_of(tmp_path)
    stopped_log = paths.train_log.read_text(encoding="utf-8")
    edit(preset, 10)
    assert run_cli(*train_args(preset))[0] == 0  # the edited run finishes: done.json
    edit(preset, 20)
    stop_after(preset, 2)  # nothing to do at update 2: it resumes at 2, not from scratch
    assert not paths.done.exists(), "done.json of the edited run outlived its checkpoint"
    assert paths.train_log.read_text(encoding="utf-8") == stopped_log  # timings included
    assert run_cli(*train_args(preset))[0] == 0
    assert json.loads(paths.done.read_text(encoding="utf-8"))["updates"] == 3


def test_two_checkpoints_moved_aside_under_the_same_settings_are_both_kept(tmp_path):
    path = tmp_path / "checkpoint.pt"
    for update in (1, 2):
        runs.save_checkpoint(path, {"update": update, "config": {"seed": 7}})
        assert runs.load_checkpoint(path, config={"seed": 8}) is None
    kept = sorted(tmp_path.glob("checkpoint.pt.*.stale"))
    assert len(kept) == 2
    assert sorted(runs.load_checkpoint(p)["update"] for p in kept) == [1, 2]  # digests moved too


# --- issue 22 item 3: checkpoints load memory-mapped ---------------------------------------------


def _mapped_files() -> set[str]:
    with open("/proc/self/maps", encoding="utf-8") as maps:
        return {line.split(None, 5)[5].strip() for line in maps if len(line.split(None, 5)) == 6}


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_a_checkpoint_is_loaded_memory_mapped(tmp_path):
    path = tmp_path / "checkpoint.pt"
    runs.save_checkpoint(path, {"learner": {"weight": torch.ones(1 << 20)}})
    payload = runs.load_checkpoint(path)
    assert str(path) in _mapped_files(), "the checkpoint was read into memory, not mapped"
    assert payload["learner"]["weight"].sum().item() == 1 << 20
