"""The report items against the study: a renamed experiment, agent, test or item is refused.

Every report item is declared once in ``glam_bench.paper.study.REPORT_ITEMS`` (name, kind,
caption) and drawn from its spec in ``glam_bench.report.items``. These tests edit copies
of the study's tables and show the report layer refusing them with an error that names
the figure, never building a report that silently lacks it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace

import jinja2
import pytest

from glam_bench.paper import study
from glam_bench.report import figures, items, synthetic
from glam_bench.report.items import ReportItemError


def _rename_experiment(old: str, new: str) -> tuple[dict, dict]:
    """Copies of the study's experiment and agent tables with experiment ``old`` renamed."""
    experiments = {(new if name == old else name): (replace(spec, name=new) if name == old
                                                    else spec)
                   for name, spec in study.EXPERIMENTS_BY_NAME.items()}
    agents = {name: replace(agent, experiments=tuple(new if e == old else e
                                                     for e in agent.experiments))
              for name, agent in study.AGENTS_BY_NAME.items()}
    return experiments, agents


def test_the_study_as_declared_passes():
    items.check_items()
    figures.check_figures()
    synthetic.check_synthetic()


def test_a_renamed_experiment_is_refused_naming_the_figure():
    experiments, agents = _rename_experiment("distractors-4", "distractors-04")
    with pytest.raises(ReportItemError, match=r"'q1_distractors' draws from experiment "
                       r"'distractors-4', which glam_bench.paper.study does not declare.*rename it"):
        items.check_items(experiments, agents)


RENAME_THEN_IMPORT_ITEMS = """
from dataclasses import replace
from glam_bench.paper import study
study.EXPERIMENTS_BY_NAME = {("size-xxl" if n == "size-xl" else n): (replace(s, name="size-xxl")
                             if n == "size-xl" else s) for n, s in study.EXPERIMENTS_BY_NAME.items()}
study.AGENTS_BY_NAME = {n: replace(a, experiments=tuple("size-xxl" if e == "size-xl" else e
                                                        for e in a.experiments))
                        for n, a in study.AGENTS_BY_NAME.items()}
import glam_bench.report.items
"""


def test_a_renamed_experiment_in_the_study_module_fails_the_import():
    # What a user editing study.py sees: items.py refuses to load, in a fresh interpreter as
    # the Snakefile imports it, so the pipeline refuses too.
    done = subprocess.run([sys.executable, "-c", RENAME_THEN_IMPORT_ITEMS],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert re.search(r"ReportItemError: .*'appendix_model_size'.*'size-xl'", done.stderr), done.stderr


def test_report_items_import_without_matplotlib_or_pandas():
    # The Snakefile imports the items at every start: they must stay plain data.
    probe = ("import sys, glam_bench.report.items; "
             "print(sorted(m for m in ('matplotlib', 'pandas', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_a_renamed_agent_is_refused_naming_the_figure():
    agents = {("sppo" if n == "symbolic-ppo" else n): a for n, a in study.AGENTS_BY_NAME.items()}
    with pytest.raises(ReportItemError, match=r"'q1_mixed_curves'.*agent 'symbolic-ppo'"):
        items.check_items(study.EXPERIMENTS_BY_NAME, agents)


def test_an_agent_leaving_an_experiment_is_refused():
    agents = dict(study.AGENTS_BY_NAME)
    agents["bc-bot"] = replace(agents["bc-bot"], experiments=())
    with pytest.raises(ReportItemError, match=r"'q4_online_vs_bc'.*'bc-bot'.*'bc'"):
        items.check_items(study.EXPERIMENTS_BY_NAME, agents)


def test_a_dropped_test_is_refused_naming_the_table():
    experiments = dict(study.EXPERIMENTS_BY_NAME)
    mixed = experiments["mixed"]
    experiments["mixed"] = replace(mixed, tests=tuple(t for t in mixed.tests
                                                      if t != "adj_synonyms"))
    # No figure draws adj_synonyms; the generalisation table does.
    with pytest.raises(ReportItemError, match=r"'table_generalisation'.*'adj_synonyms'"):
        items.check_items(experiments, study.AGENTS_BY_NAME)


def test_a_renamed_item_is_refused_by_its_spec_and_its_figure():
    declared = tuple("q1_mixed" if i == "q1_mixed_curves" else i
                     for i in (*study.FIGURE_ITEMS, *study.TABLE_ITEMS))
    with pytest.raises(ReportItemError, match=r"'q1_mixed'.*no spec"):
        items.check_items(declared=declared)
    with pytest.raises(ReportItemError, match=r"\['q1_mixed'\].*\['q1_mixed_curves'\]"):
        figures.check_figures(tuple(i for i in declared if i in (*study.FIGURE_ITEMS,
                                                                   "q1_mixed")))


def test_every_item_has_a_spec_a_builder_and_a_caption():
    assert set(figures.FIGURES) == set(study.FIGURE_ITEMS) == set(items.FIGURE_ITEMS)
    for item in study.REPORT_ITEMS:
        if item.kind != "summary":
            items.item_needs(item.name)  # raises for an item without a spec
        assert item.caption and item.caption.endswith(".")


def test_captions_render_the_preset_with_jinja():
    for item in study.REPORT_ITEMS:
        text = jinja2.Template(study.caption_text(item)).render(
            snakemake={"config": {"preset": "ci"}})
        assert ("Preset **ci** of this run" in text) == item.preset_note
        assert "{{" not in text and text.endswith(".")


def test_item_targets_are_unique_and_keep_the_short_names():
    targets = [t for i in (*items.FIGURE_ITEMS, *items.TABLE_ITEMS)
               for t in items.item_targets(i)]
    assert len(targets) == len(set(targets))
    assert items.item_targets("q2q3_generalisation") == ["fig_q2q3_generalisation",
                                                         "fig_generalisation"]
    assert items.item_targets("table_generalisation") == ["fig_table_generalisation"]
    assert "fig_model_size" in items.item_targets("appendix_model_size")


def test_labels_and_colours_come_from_the_study():
    for agent in study.AGENTS:
        assert items.agent_label(agent.name) == agent.label
        assert items.agent_colour(agent.name) == agent.colour
    assert items.Q1_AGENTS == ("gflan", "npae", "drrn", "symbolic-ppo")


# --- the synthetic result set ----------------------------------------------------------


def test_synthetic_runs_are_the_studys_default_runs():
    runs = {(r.experiment, r.agent) for r in synthetic.synthetic_runs()}
    expected = {(e, a) for e in study.DEFAULT_EXPERIMENTS
                for a in (*study.EXPERIMENTS_BY_NAME[e].agents,
                          *study.EXPERIMENTS_BY_NAME[e].reference_agents)}
    assert runs == expected
    for run in synthetic.synthetic_runs():
        declared = study.EXPERIMENTS_BY_NAME[run.experiment].tests or ("no_change",)
        assert set(run.tests) <= set(declared)


def test_a_new_study_experiment_and_agent_get_the_default_numbers(monkeypatch):
    experiments, agents = _rename_experiment("obs-9", "obs-12")
    experiments["obs-12"] = replace(experiments["obs-12"], tests=("no_change",))
    agents["mine"] = replace(agents["drrn"], name="mine", experiments=("mixed", "obs-12"))
    monkeypatch.setattr(study, "EXPERIMENTS_BY_NAME", experiments)
    monkeypatch.setattr(study, "AGENTS", tuple(agents.values()))
    monkeypatch.setattr(study, "AGENTS_BY_NAME", agents)
    monkeypatch.setattr(study, "DEFAULT_EXPERIMENTS", tuple(experiments)[:-2])  # not LoRA
    monkeypatch.setattr(synthetic, "_EXPERIMENT_FACTOR",
                        {e: f for e, f in synthetic._EXPERIMENT_FACTOR.items() if e != "obs-9"})
    runs = {(r.experiment, r.agent): r for r in synthetic.synthetic_runs()}
    assert ("obs-12", "mine") in runs and ("mixed", "mine") in runs
    assert synthetic._plateau("obs-12", "mine") == synthetic._DEFAULT_PLATEAU


def test_a_renamed_experiment_leaves_a_stale_synthetic_factor_that_is_refused(monkeypatch):
    renamed = tuple("obs-12" if e == "obs-9" else e for e in study.DEFAULT_EXPERIMENTS)
    monkeypatch.setattr(study, "DEFAULT_EXPERIMENTS", renamed)
    with pytest.raises(ReportItemError, match=r"_EXPERIMENT_FACTOR names \['obs-9'\]"):
        synthetic.check_synthetic()


def test_a_renamed_agent_leaves_a_stale_synthetic_entry_that_is_refused(monkeypatch):
    agents = {("sppo" if n == "symbolic-ppo" else n): a for n, a in study.AGENTS_BY_NAME.items()}
    monkeypatch.setattr(study, "AGENTS_BY_NAME", agents)
    with pytest.raises(ReportItemError, match=r"_PLATEAU names \['symbolic-ppo'\]"):
        synthetic.check_synthetic()


def _groups(item, agents=None):
    return {(n.kind, n.experiment, n.agent, n.test) for n in items.needs_among(item, agents)}


def test_a_results_set_of_some_agents_draws_its_items_over_those():
    """What the Snakefile's figure targets are made of (workflows/rules/common.smk)."""
    item = "q2q3_generalisation"
    everything = _groups(item)
    assert items.drawable([item], everything) == [item]
    assert items.drawable([item], everything - {next(iter(everything))}) == []
    cpu = ("random", "drrn", "symbolic-ppo")
    assert {n.agent for n in items.needs_among(item, cpu)} <= set(cpu)
    assert items.drawable([item], _groups(item, cpu)) == []  # every agent asked for: incomplete
    assert items.drawable([item], _groups(item, cpu), cpu) == [item]
    assert items.drawable(["q4_online_vs_bc"], everything, cpu) == []  # none of its agents
    assert items.drawable(["table_prompts"], set(), cpu) == ["table_prompts"]  # needs no results
