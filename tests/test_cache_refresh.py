"""A long campaign is committed as it lands: `cache refresh --finished-only` takes the
finished runs of a results folder still being written and leaves the others out."""

from __future__ import annotations

import json

import pytest

from glam_bench.pipeline.cache import CacheError, load_manifest, refresh_cache, verify_manifest


def _run(root, seed, finished):
    run = root / "runs" / "mixed" / "random" / f"seed-{seed}"
    (run / "tests").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"config": {"preset": "paper-cpu"}}))
    (run / "tests" / "no_change.csv").write_text("episode,success\n0,1\n")
    if finished:
        (run / "done.json").write_text(json.dumps({"updates": None, "frames": 0}))


def test_finished_only_takes_the_finished_runs_and_lists_what_it_took(tmp_path, capsys):
    source, cache = tmp_path / "work", tmp_path / "results" / "paper-cpu"
    _run(source, 1, finished=True)
    _run(source, 2, finished=False)
    with pytest.raises(CacheError, match="seed-2 has not finished"):
        refresh_cache(source, cache)
    refresh_cache(source, cache, finished_only=True)
    assert "left out 1 unfinished run(s): runs/mixed/random/seed-2" in capsys.readouterr().out
    listed = sorted(load_manifest(cache)["files"])
    assert listed == ["runs/mixed/random/seed-1/done.json", "runs/mixed/random/seed-1/run.json",
                      "runs/mixed/random/seed-1/tests/no_change.csv"]
    assert not (cache / "runs" / "mixed" / "random" / "seed-2").exists()
    verify_manifest(cache)
