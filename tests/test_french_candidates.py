"""evaluation.french_candidates (§D.4): which action names a French test scores.

The suite scores the French names, as the paper's figure shows; the authors' code, once
its French branch is fixed, would have scored the English names under a French prompt.
Panel (f) depends on it entirely, so the switch reaches the agent, the test's record and
the figure's footer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from glam_bench.errors import GlamBenchError
from glam_bench.evaluation import evaluate
from glam_bench.paper import vocabulary as V
from glam_bench.paper.prompts import build_prompt
from glam_bench.paper.test_sets import get_test_set, scored_as
from glam_bench.pipeline.preset_checks import evaluation_flags, load_preset
from glam_bench.report import fidelity
from glam_bench.runtime.config import resolve_run
from glam_bench.runtime.runs import RunPaths
from glam_bench.runtime.training import register_untrained_run
from tests.fixtures_report import small_data, small_results  # noqa: F401  (pytest fixtures)

ROOT = Path(__file__).resolve().parents[1]
FRENCH_NAMES = tuple(V.ACTION_TRANSLATION_FR[a] for a in V.ACTIONS)


def test_english_candidates_are_scored_under_a_french_prompt():
    french = get_test_set("french")
    assert scored_as(french, "french") is french
    english = scored_as(french, "english")
    assert english.action_names == V.ACTIONS and english.language == "fr"
    assert english.env == french.env and english.substitutions == french.substitutions
    # the French dictionary tests follow the switch; English tests never change
    assert scored_as(get_test_set("french_other_nouns"), "english").action_names == V.ACTIONS
    assert scored_as(get_test_set("synonym_actions"), "english") == get_test_set("synonym_actions")
    # the prompt stays French: header and history translate the English names
    prompt = build_prompt("go to the red ball", [["You see a wall 1 step forward"]] * 2,
                          ["go forward"], english.action_names, language="fr")
    assert prompt.startswith("Actions possibles pour l'agent: tourner à gauche, tourner à droite")
    assert "Action 0: aller tout droit" in prompt and "go forward" not in prompt
    with pytest.raises(GlamBenchError, match="french_candidates"):
        scored_as(french, "german")


@pytest.fixture
def random_run(tmp_path):
    preset = load_preset(ROOT / "workflows" / "config" / "ci.yaml")
    config = resolve_run(preset, "gotolocal", "random", 1)
    paths = RunPaths.for_run(tmp_path, tmp_path / "work", "gotolocal", "random", 1)
    register_untrained_run(config, paths, "none")
    return paths.results


@pytest.mark.parametrize("candidates, names", [("french", FRENCH_NAMES), ("english", V.ACTIONS)])
def test_evaluate_gives_the_agent_the_candidates_and_records_them(random_run, monkeypatch,
                                                                  candidates, names):
    seen = {}
    real_build = evaluate.build_agent

    def spy_build(config, state, vector_env, test_set, seed):
        seen["names"] = test_set.action_names
        return real_build(config, state, vector_env, test_set, seed)

    monkeypatch.setattr(evaluate, "build_agent", spy_build)
    from glam_bench.cli import main

    assert main(["evaluate", "--run", str(random_run), "--test", "french", "--episodes", "2",
                 "--num-envs", "2", "--french-candidates", candidates, "--no-progress"]) == 0
    assert seen["names"] == names
    recorded = json.loads((random_run / "tests" / "french.json").read_text())
    assert recorded["french_candidates"] == candidates
    # an English test's record does not carry it
    evaluate.evaluate_run(random_run, "english_gotolocal", 2, num_envs=2, progress=False,
                          french_candidates=candidates)
    assert "french_candidates" not in json.loads(
        (random_run / "tests" / "english_gotolocal.json").read_text())


def test_the_footer_says_which_candidates_when_recorded():
    rows = pd.DataFrame({"experiment": ["gotolocal"] * 2, "agent": ["drrn"] * 2, "seed": [1, 2],
                         "test": ["french"] * 2})
    protocols = rows.assign(counting="per_env", test_task_sampling="episode",
                            french_candidates=["english", "english"])
    assert fidelity.french_candidates_text(protocols, rows) == (
        "scored candidates: the English names (as the authors' code would have)")
    # records written before the switch say nothing, and neither does the footer
    assert fidelity.french_candidates_text(protocols.assign(french_candidates=""), rows) == ""


def test_the_pipeline_passes_the_scored_names_to_the_french_tests(tmp_path):
    assert evaluation_flags({"counting": "first_finished"}) == "--counting first_finished"
    assert evaluation_flags({"french_candidates": "english", "task_sampling": "instance"}) == (
        "--counting per_env --task-sampling instance --french-candidates english")
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-p", "--nolock", "--configfile",
         "workflows/config/ci.yaml", "--config", "evaluation={french_candidates: english}",
         "--directory", str(ROOT)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    french = [line for line in done.stdout.splitlines() if "--test french" in line]
    assert french and all("--french-candidates english" in line for line in french)


def test_panel_f_footer_names_the_recorded_candidates(small_data, tmp_path):
    from glam_bench.report.data import ReportData
    from glam_bench.report.figures import draw_figure

    french = small_data.episodes[small_data.episodes["test"] == "french"]
    protocols = french[["experiment", "agent", "seed", "test"]].drop_duplicates().assign(
        counting="per_env", test_task_sampling="episode", french_candidates="english")
    data = ReportData(small_data.train, small_data.episodes, small_data.policy,
                      n_resamples=small_data.n_resamples, settings=small_data.settings,
                      protocols=protocols)
    fig = draw_figure("q2q3_generalisation", data, tmp_path)
    footer = " ".join(" ".join(t.get_text() for sub in fig.subfigs for t in sub.texts).split())
    assert "; scored candidates: the English names (as the authors' code would have)" in footer
