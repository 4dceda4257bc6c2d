"""evaluation.counting and evaluation.task_sampling (§A.5, §D.1): the runner counts as asked
and evaluate_run passes the preset's protocol to the envs and records it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from glam_bench.agents import make_reference_agent
from glam_bench.runtime.config import resolve_run
from glam_bench.pipeline.preset_checks import load_preset
from glam_bench.envs import env_seeds, make_vector_env
from glam_bench.evaluation import evaluate
from glam_bench.runtime.results import episode_record_path
from glam_bench.rl.episodes import run_episodes
from glam_bench.runtime.runs import RunPaths
from glam_bench.runtime.training import register_untrained_run

ROOT = Path(__file__).resolve().parents[1]
ENV = "BabyAI-Text-MixedTrainLocal-v0"


def play(counting: str, episodes: int = 12, num_envs: int = 4, sampling: str = "instance"):
    env = make_vector_env(ENV, num_envs, task_sampling=sampling)
    try:
        agent = make_reference_agent("bot", env)
        return run_episodes(env, agent, episodes, env_seeds(1, num_envs, "test"),
                            progress=False, counting=counting)
    finally:
        env.close()


def test_per_env_counts_a_quota_per_env_and_first_finished_the_earliest_episodes():
    per_env = play("per_env")
    first = play("first_finished")
    assert len(per_env) == len(first) == 12
    assert Counter(e.env_index for e in per_env) == {0: 3, 1: 3, 2: 3, 3: 3}
    # same seeds, same bot: each env plays the same episode sequence under both countings;
    # first_finished keeps the envs with short episodes longer, so the counts differ
    assert Counter(e.env_index for e in first) != Counter(e.env_index for e in per_env)
    # and it keeps exactly the 12 episodes that ended first (end step = cumulative length)
    every = play("per_env", episodes=60)
    ends, elapsed = [], Counter()
    for episode in every:
        elapsed[episode.env_index] += episode.length
        ends.append((elapsed[episode.env_index], episode.env_index, episode))
    earliest = [e for _, _, e in sorted(ends, key=lambda t: (t[0], t[1]))[:12]]
    assert [(e.env_index, e.length) for e in first] == [(e.env_index, e.length)
                                                        for e in earliest]


def test_unknown_counting_is_a_clear_error():
    with pytest.raises(ValueError, match="counting"):
        play("some")


@pytest.fixture
def random_run(tmp_path):
    preset = load_preset(ROOT / "workflows" / "config" / "ci.yaml")
    config = resolve_run(preset, "mixed", "random", 1)
    paths = RunPaths.for_run(tmp_path, tmp_path / "work", "mixed", "random", 1)
    register_untrained_run(config, paths, "none")
    return paths.results


@pytest.mark.parametrize("task_sampling, counting, expected_sampling", [
    (None, "per_env", "episode"),             # the run's own (ci: episode)
    ("instance", "first_finished", "instance"),
])
def test_evaluate_run_plays_and_records_the_protocol(random_run, monkeypatch, task_sampling,
                                                     counting, expected_sampling):
    seen = {}
    real_make, real_run = evaluate.make_vector_env, evaluate.run_episodes

    def spy_make(env_id, num_envs, **kwargs):
        seen["task_sampling"] = kwargs["task_sampling"]
        return real_make(env_id, num_envs, **kwargs)

    def spy_run(*args, **kwargs):
        seen["counting"] = kwargs["counting"]
        return real_run(*args, **kwargs)

    monkeypatch.setattr(evaluate, "make_vector_env", spy_make)
    monkeypatch.setattr(evaluate, "run_episodes", spy_run)
    out = evaluate.evaluate_run(random_run, "no_change", 4, num_envs=2, progress=False,
                                task_sampling=task_sampling, counting=counting)
    assert seen == {"task_sampling": expected_sampling, "counting": counting}
    assert len(pd.read_csv(out)) == 4
    recorded = json.loads(episode_record_path(out).read_text())
    protocol = {k: recorded[k] for k in ("test", "task_sampling", "counting", "episodes", "num_envs")}
    assert protocol == {"test": "no_change", "task_sampling": expected_sampling,
                        "counting": counting, "episodes": 4, "num_envs": 2}


def test_the_paper_preset_counts_as_the_authors_and_the_cli_passes_it(random_run, capsys):
    paper = load_preset(ROOT / "workflows" / "config" / "paper.yaml")
    assert paper["evaluation"]["counting"] == "first_finished"
    assert "task_sampling" not in paper["evaluation"]  # each run's own
    from glam_bench.cli import main

    assert main(["evaluate", "--run", str(random_run), "--test", "no_change", "--episodes", "4",
                 "--num-envs", "2", "--counting", "first_finished", "--task-sampling",
                 "instance", "--no-progress"]) == 0
    recorded = json.loads((random_run / "tests" / "no_change.json").read_text())
    assert (recorded["counting"], recorded["task_sampling"]) == ("first_finished", "instance")


def test_the_snakemake_rules_pass_the_preset_protocol():
    """Every evaluate job of a dry run carries the preset's counting and task sampling."""
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-p", "--nolock", "--configfile",
         "workflows/config/ci.yaml", "--config",
         "evaluation={counting: first_finished, task_sampling: instance}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    evaluations = [line for line in done.stdout.splitlines() if "glam_bench.cli evaluate" in line]
    assert evaluations and all(
        "--counting first_finished --task-sampling instance" in line for line in evaluations)
