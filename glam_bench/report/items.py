"""What every report item shows, as data: agents, colours, tests, experiments, figures.

This is the one place that maps a paper item (§E) to the result rows it needs
(experiment id, agent id, test id). Figure and table code reads these specs and
never names an experiment itself, so re-pointing an item (say, Q4 compared on
another test) is a one-line change here. The items themselves (names, kinds,
captions) and every agent and experiment are declared in :mod:`glam_bench.paper.study`;
:func:`check_items` refuses, at import, a spec that names anything the study
does not declare, so a renamed experiment or agent never silently drops a figure.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from glam_bench.paper import study
from glam_bench.errors import GlamBenchError


class ReportItemError(GlamBenchError, ValueError):
    """A report item's spec disagrees with the study (unknown item, experiment, agent, test)."""


# --- Agents ------------------------------------------------------------------

#: Display names, as printed in the paper's legends (§E.3-§E.7).
AGENT_LABELS: dict[str, str] = {a.name: a.label for a in study.AGENTS}

#: One colour per agent in every figure. The first four follow the paper's
#: Mixed curves (§E.4: blue, orange, green, grey); the rest are distinct.
AGENT_COLOURS: dict[str, str] = {a.name: a.colour for a in study.AGENTS}

#: The four agents trained in every Q1 study (§E.4, §E.5), in the study's order.
Q1_AGENTS: tuple[str, ...] = tuple(
    a.name for a in study.AGENTS
    if a.trained and all(e in a.experiments for e in study.Q1_EXPERIMENTS))
#: The five agents of the generalisation figure, in the paper's bar order (§E.3).
GENERALISATION_AGENTS: tuple[str, ...] = ("random", "drrn", "npae", "zero-shot", "gflan")

# --- Tests -------------------------------------------------------------------

#: Display names of the test ids (§D.2, §D.3); figure wording where the paper has one.
TEST_LABELS: dict[str, str] = {
    "no_change": "Training tasks (no change)",
    "other_nouns": "Out-of-vocabulary",
    "adj_synonyms": "Adjective synonyms",
    "invented_nouns": "Invented nouns",
    "invented_adjectives": "Invented adjectives",
    "invented_words": "Invented words",
    "first_person_speaker": "First person (speaker)",
    "first_person_agent": "First person (agent)",
    "synonym_actions": "Synonym actions",
    "synonym_actions_2": "Synonym actions (set 2)",
    "new_composition": "New composition",
    "french": "New language (French)",
    "english_gotolocal": "English GoToLocal (reference)",
    "held_out_pairs": "Held-out pairs (MixedTestLocal)",
}

#: Every test reported in the generalisation table, per experiment, in order.
GENERALISATION_TABLE_TESTS: dict[str, tuple[str, ...]] = {
    "mixed": study.MIXED_TESTS,
    "gotolocal": ("english_gotolocal", "french"),
}

#: Test -> the test its relative change is computed against (§E.3's light bars);
#: panels (b), (c), (e), (f) as in the paper, the other text variants like (b).
REFERENCE_TESTS: dict[str, str] = {
    **{t: "no_change" for t in GENERALISATION_TABLE_TESTS["mixed"]
       if t not in ("no_change", "new_composition")},
    "french": "english_gotolocal",
}

# --- Frame limits of the curve plots (§G) ------------------------------------

MIXED_FRAME_LIMIT = 1_500_000
GOTOLOCAL_FRAME_LIMIT = 400_000
PRETRAINING_FRAME_LIMIT = 500_000


# --- Specs -------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One curve or bar group: an agent trained in one experiment.

    ``label`` and ``colour`` default to the agent's; studies of one agent over
    several experiments (model size, prompt length) override them.
    """

    experiment: str
    agent: str
    label: str = ""
    colour: str = ""
    linestyle: str = "-"

    @property
    def display(self) -> str:
        return self.label or AGENT_LABELS.get(self.agent, self.agent)

    @property
    def color(self) -> str:
        return self.colour or AGENT_COLOURS.get(self.agent, "#000000")


@dataclass(frozen=True)
class CurveStudy:
    """Training curves of several series, optionally with sample efficiency (§E.5)."""

    name: str
    title: str
    series: tuple[Series, ...]
    frame_limit: int | None
    #: For SE-vs-variable plots: variable value of each experiment, and axis label.
    variable: dict[str, float] = field(default_factory=dict)
    variable_label: str = ""
    #: Curve sub-panels: panel title -> experiments drawn in it.
    panels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: (from, to): the experiments whose relative SE change is boxed beside the paper's.
    se_change: tuple[str, ...] = ()

    @property
    def experiments(self) -> tuple[str, ...]:
        """Every experiment the spec names (its series, variable, panels, SE change)."""
        named = [s.experiment for s in self.series] + list(self.variable) + list(self.se_change)
        named += [e for _, experiments in self.panels for e in experiments]
        return tuple(dict.fromkeys(named))


@dataclass(frozen=True)
class Panel:
    """One generalisation panel (§E.3): a test, and the test its light bars show."""

    key: str
    title: str
    question: str
    experiment: str
    test: str

    @property
    def reference_test(self) -> str | None:
        return REFERENCE_TESTS.get(self.test)


@dataclass(frozen=True)
class BarComparison:
    """Test success rates of several series on one test (Q4)."""

    name: str
    title: str
    test: str
    series: tuple[Series, ...]


# --- Q1 (§E.4, §E.5) ---------------------------------------------------------

MIXED_CURVES = CurveStudy(
    name="q1_mixed_curves",
    title="Q1: sample efficiency on MixedTrainLocal",
    series=tuple(Series("mixed", a) for a in Q1_AGENTS),
    frame_limit=MIXED_FRAME_LIMIT,
)

ACTION_SPACE = CurveStudy(
    name="q1_action_space",
    title="Q1: action-space size (GoToLocal)",
    series=tuple(
        Series(e, a) for e in ("actions-3", "gotolocal", "actions-9") for a in Q1_AGENTS
    ),
    frame_limit=GOTOLOCAL_FRAME_LIMIT,
    variable={"actions-3": 3, "gotolocal": 6, "actions-9": 9},
    variable_label="Number of actions",
    panels=(
        ("Restricted", ("actions-3",)),
        ("Canonical", ("gotolocal",)),
        ("Augmented", ("actions-9",)),
        ("Comparison of the 3 action spaces", ("actions-3", "gotolocal", "actions-9")),
    ),
)

DISTRACTORS = CurveStudy(
    name="q1_distractors",
    title="Q1: number of distractors (GoToLocal)",
    series=tuple(
        Series(e, a)
        for e in ("distractors-4", "gotolocal", "distractors-16")
        for a in Q1_AGENTS
    ),
    frame_limit=GOTOLOCAL_FRAME_LIMIT,
    variable={"distractors-4": 4, "gotolocal": 8, "distractors-16": 16},
    variable_label="Number of distractors",
    panels=(
        ("4 distractors", ("distractors-4",)),
        ("8 distractors", ("gotolocal",)),
        ("16 distractors", ("distractors-16",)),
        ("Comparison for 3 number of distractors",
         ("distractors-4", "gotolocal", "distractors-16")),
    ),
    se_change=("distractors-4", "distractors-16"),
)

#: The example-prompt table (§B.1), drawn from the prompt builder, not from results.
PROMPT_TABLE = "table_prompts"

#: Line styles that tell the experiments of a "Comparison" panel apart.
COMPARISON_LINESTYLES: tuple[str, ...] = (":", "-", "--")

# --- Q2/Q3 (§E.3) ------------------------------------------------------------

#: The generalisation figure and table (their paper values are the figure's, in
#: ``paper_reference.csv``).
GENERALISATION_FIGURE = "q2q3_generalisation"
GENERALISATION_TABLE = "table_generalisation"

GENERALISATION_PANELS: tuple[Panel, ...] = (
    Panel("a", "(a) Training tasks", "", "mixed", "no_change"),
    Panel("b", "(b) Out-of-vocabulary", "Q2: new objects", "mixed", "other_nouns"),
    Panel("c", "(c) Invented words", "Q2: new objects", "mixed", "invented_words"),
    Panel("d", "(d) New composition", "Q3: new tasks", "mixed", "new_composition"),
    Panel("e", "(e) Synonym actions", "Q3: new tasks", "mixed", "synonym_actions"),
    Panel("f", "(f) New language (French)", "Q3: new tasks", "gotolocal", "french"),
)

# --- Q4 (§E.6) ---------------------------------------------------------------

ONLINE_VS_BC = BarComparison(
    name="q4_online_vs_bc",
    title="Q4: online RL vs behavioural cloning (GoToLocal)",
    test="no_change",
    series=(Series("gotolocal", "gflan", "GFlan-T5 (online PPO)"), Series("bc", "bc-gflan"),
            Series("bc", "bc-bot")),
)

# --- Appendix (§E.7) ---------------------------------------------------------

_SIZE_BLUES = {"size-small": "#9ecae1", "gotolocal": "#3182bd", "size-xl": "#08306b"}
MODEL_SIZE = CurveStudy(
    name="appendix_model_size",
    title="Model size (GoToLocal)",
    series=(
        Series("size-small", "gflan", "GFlan-T5 small", _SIZE_BLUES["size-small"]),
        Series("gotolocal", "gflan", "GFlan-T5 large", _SIZE_BLUES["gotolocal"]),
        Series("size-xl", "gflan", "GFlan-T5 xl", _SIZE_BLUES["size-xl"]),
        Series("gotolocal", "npae", "NPAE-Flan-T5 large"),
        Series("gotolocal", "drrn"),
        Series("gotolocal", "symbolic-ppo"),
    ),
    frame_limit=GOTOLOCAL_FRAME_LIMIT,
)

PRETRAINING = CurveStudy(
    name="appendix_pretraining",
    title="Pretraining ablation (GoToLocal)",
    series=tuple(Series("pretraining", a) for a in ("gflan", "aflan", "npae", "npa", "npe")),
    frame_limit=PRETRAINING_FRAME_LIMIT,
)

_OBS_BLUES = {"obs-1": "#c6dbef", "gotolocal": "#6baed6", "obs-6": "#2171b5", "obs-9": "#08306b"}
PROMPT_LENGTH = CurveStudy(
    name="appendix_prompt_length",
    title="Prompt length: observations in the prompt (GoToLocal)",
    series=tuple(
        Series(e, "gflan", f"GFlan-T5, {n} obs.", _OBS_BLUES[e])
        for e, n in (("obs-1", 1), ("gotolocal", 3), ("obs-6", 6), ("obs-9", 9))
    ),
    frame_limit=GOTOLOCAL_FRAME_LIMIT,
    variable={"obs-1": 1, "gotolocal": 3, "obs-6": 6, "obs-9": 9},
    variable_label="Observations in the prompt",
)

GOTOREDBALL = CurveStudy(
    name="appendix_gotoredball",
    title="DRRN vs Symbolic-PPO on GoToRedBall",
    series=(Series("gotoredball", "drrn"), Series("gotoredball", "symbolic-ppo")),
    frame_limit=GOTOLOCAL_FRAME_LIMIT,
)

#: The reproduction table (``report/reproduction.py``): every value of the paper's reference
#: table whose agent acts without a language model, ours beside it.
REPRODUCTION_TABLE = "table_reproduction"
REPRODUCED_AGENTS: tuple[str, ...] = tuple(a.name for a in study.AGENTS if a.llm is None)
#: The items whose values it measures (Q4's "the bot succeeds 100%" describes BC-Bot's
#: demonstrator, not a result of a paper experiment, and is left out).
REPRODUCED_ITEMS: tuple[str, ...] = (GENERALISATION_FIGURE, MIXED_CURVES.name, DISTRACTORS.name)
#: The paper's values, one row each (read here with the csv module: this module stays
#: free of pandas; ``report/published.py`` serves them as a frame).
PAPER_REFERENCE_PATH = Path(__file__).with_name("paper_reference.csv")

#: Which run's ``policy_log.csv`` feeds the policy-evolution figure (§E.7).
POLICY_EVOLUTION_FIGURE = "appendix_policy_evolution"
POLICY_EVOLUTION = Series("mixed", "gflan")

# --- Beyond the paper --------------------------------------------------------

SCORER = CurveStudy(
    name="extra_scorer_comparison",
    title="Beyond the paper: candidate-scoring variants of GFlan-T5 (§H.1)",
    series=(
        Series("scorer-logprob", "gflan", "log-prob (true log-likelihood)", "#1f77b4"),
        Series("scorer-raw_logits", "gflan", "raw logits (May-2023 code)", "#d62728"),
        Series("scorer-prob_ratio", "gflan", "P/max P (Feb-2023 code)", "#2ca02c"),
    ),
    frame_limit=None,
)

#: The per-task-kind figure, and the experiment it breaks down by task kind.
TASK_KINDS_FIGURE = "extra_task_kinds"
TASK_KIND_EXPERIMENT = "mixed"
#: Task kinds in the authors' order (§A.5), then the new-composition kind (§D.3).
TASK_KIND_ORDER: tuple[str, ...] = (
    "goto", "pickup", "open", "putnext", "pick up seq go to", "pick up seq pick up",
)
#: Agents of the per-task-kind figure: the Q1 agents, then the experiment's reference agents.
TASK_KIND_AGENT_ORDER: tuple[str, ...] = (*Q1_AGENTS, *(
    a.name for a in study.AGENTS if not a.trained and TASK_KIND_EXPERIMENT in a.experiments))

#: Every item of the report, in build order (declared in :data:`glam_bench.paper.study.REPORT_ITEMS`).
FIGURE_ITEMS: tuple[str, ...] = study.FIGURE_ITEMS
TABLE_ITEMS: tuple[str, ...] = study.TABLE_ITEMS

#: The paper-question prefix of an item name, dropped in its short Snakemake target.
_PREFIX = re.compile(r"^(q\d+(q\d+)?|appendix|extra)_")

#: The summary CSVs every report writes beside its items, in the order
#: ``summaries.write_summaries`` builds them (tests, seeds, task kinds, SE, curves).
SUMMARY_FILES: tuple[str, ...] = (
    "summary_tests.csv", "summary_seeds.csv", "summary_task_kinds.csv",
    "summary_sample_efficiency.csv", "summary_curves.csv",
)


def item_targets(item: str) -> list[str]:
    """Snakemake target names of an item drawn from the cache: ``fig_<item>``, and
    ``fig_<short>`` without the paper-question prefix where that is unambiguous
    (``fig_generalisation``, ``fig_model_size``)."""
    every = (*FIGURE_ITEMS, *TABLE_ITEMS)
    shorts = [_PREFIX.sub("", i) for i in every]
    short = _PREFIX.sub("", item)
    names = [f"fig_{item}"]
    if short != item and shorts.count(short) == 1 and short not in every:
        names.append(f"fig_{short}")
    return names


def agent_label(agent: str) -> str:
    """Display name of an agent id, the id itself if unknown."""
    return AGENT_LABELS.get(agent, agent)


def agent_colour(agent: str) -> str:
    """Colour of an agent id, black if unknown."""
    return AGENT_COLOURS.get(agent, "#000000")


def label_for_test(test: str) -> str:
    """Display name of a test id, the id itself if unknown."""
    return TEST_LABELS.get(test, test)


# --- What each item needs ----------------------------------------------------


@dataclass(frozen=True)
class Need:
    """One group of result rows an item cannot be drawn without.

    ``kind`` is a results schema (``train_log``, ``episodes``, ``policy_log``);
    ``test`` is set for episodes only.
    """

    kind: str
    experiment: str
    agent: str
    test: str = ""

    def __str__(self) -> str:
        what = {"train_log": "training log", "episodes": "test episodes",
                "policy_log": "policy log"}[self.kind]
        where = "/".join(p for p in (self.experiment, self.agent, self.test) if p)
        return f"{what} {where}"


CURVE_STUDIES: dict[str, CurveStudy] = {
    s.name: s
    for s in (MIXED_CURVES, ACTION_SPACE, DISTRACTORS, MODEL_SIZE, PRETRAINING,
              PROMPT_LENGTH, GOTOREDBALL, SCORER)
}


def _generalisation_needs() -> list[Need]:
    needs = []
    for panel in GENERALISATION_PANELS:
        for test in (panel.test, panel.reference_test):
            if test:
                needs += [Need("episodes", panel.experiment, a, test)
                          for a in GENERALISATION_AGENTS]
    return list(dict.fromkeys(needs))


def paper_row_needs(item: str, experiment: str, agent: str, test: str) -> list[Need]:
    """The result groups one paper value (a row of ``paper_reference.csv``) is measured from."""
    if item == GENERALISATION_FIGURE:
        return [Need("episodes", experiment, agent, test)]
    if item == DISTRACTORS.name:
        return [Need("train_log", e, agent) for e in DISTRACTORS.se_change]
    return [Need("train_log", experiment, agent)]


def _reproduction_needs() -> list[Need]:
    with PAPER_REFERENCE_PATH.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle)
                if r["agent"] in REPRODUCED_AGENTS and r["item"] in REPRODUCED_ITEMS]
    needs = [n for r in rows
             for n in paper_row_needs(r["item"], r["experiment"], r["agent"], r["test"])]
    return list(dict.fromkeys(needs))


def _needs_by_item() -> dict[str, list[Need]]:
    """Every item's spec, as the result groups it is drawn from (one entry per item)."""
    needs = {s.name: [Need("train_log", x.experiment, x.agent) for x in s.series]
             for s in CURVE_STUDIES.values()}
    needs[GENERALISATION_FIGURE] = needs[GENERALISATION_TABLE] = _generalisation_needs()
    needs[ONLINE_VS_BC.name] = [Need("episodes", s.experiment, s.agent, ONLINE_VS_BC.test)
                                for s in ONLINE_VS_BC.series]
    needs[POLICY_EVOLUTION_FIGURE] = [
        Need("policy_log", POLICY_EVOLUTION.experiment, POLICY_EVOLUTION.agent)]
    needs[PROMPT_TABLE] = []  # drawn from the prompt builder and the envs, no result file
    needs[REPRODUCTION_TABLE] = _reproduction_needs()
    needs[TASK_KINDS_FIGURE] = [Need("episodes", TASK_KIND_EXPERIMENT, a, "no_change")
                                for a in Q1_AGENTS]
    return needs


_NEEDS = _needs_by_item()


def item_needs(item: str) -> list[Need]:
    """Result groups that ``item`` requires; an item lacking any of them is skipped."""
    if item not in _NEEDS:
        raise KeyError(f"unknown report item {item!r}")
    return list(_NEEDS[item])


def needs_among(item: str, agents: Collection[str] | None) -> list[Need]:
    """``item``'s needs of ``agents`` (None: every agent). A results set of some agents only
    (a preset's ``agents:``, e.g. paper-cpu, or a cache holding some) draws its items over
    those; the figure's footer names the absent ones."""
    return [n for n in item_needs(item) if agents is None or n.agent in agents]


def drawable(items: Iterable[str], available: Collection[tuple[str, str, str, str]],
             agents: Collection[str] | None = None) -> list[str]:
    """The items a results set can draw: those whose needs of ``agents`` are all in
    ``available`` (``(kind, experiment, agent, test)`` tuples). An item that needs results of
    other agents only is left out; one that needs no results (the prompt table) is not."""
    drawn = []
    for item in items:
        needs = needs_among(item, agents)
        if (needs or not item_needs(item)) and all(
                (n.kind, n.experiment, n.agent, n.test) in available for n in needs):
            drawn.append(item)
    return drawn


def item_agents(item: str) -> tuple[str, ...]:
    """The agents ``item`` draws, in the order its spec names them."""
    return tuple(dict.fromkeys(n.agent for n in item_needs(item)))


def absence_text(needs: list[Need], missing: list[Need]) -> str:
    """The footer or caption line of an item drawn from partial results; '' when none is missing.

    An item is drawn as soon as one of its result groups exists (a campaign that ran
    only some agents, or has not finished): this line names the agents absent from
    the results, which are not drawn, and the groups missing for the agents that are.
    """
    if not missing:
        return ""
    lacking = set(missing)
    agents = dict.fromkeys(n.agent for n in needs)
    absent = [a for a in agents if all(n in lacking for n in needs if n.agent == a)]
    partial = [n for n in missing if n.agent not in absent]
    parts = []
    if absent:
        parts.append("not in these results, so not drawn: "
                     + ", ".join(agent_label(a) for a in absent))
    if partial:
        parts.append("missing for the agents drawn: " + "; ".join(str(n) for n in partial))
    return "Partial results — " + " · ".join(parts) + "."


def item_experiments(item: str) -> tuple[str, ...]:
    """The experiments ``item`` draws from, in the order its spec names them."""
    return tuple(dict.fromkeys(n.experiment for n in item_needs(item)))


# --- The specs against the study ---------------------------------------------


def _need_problem(need: Need, experiments: Mapping[str, study.ExperimentSpec],
                  agents: Mapping[str, study.AgentSpec]) -> str:
    """Why the study cannot give ``need`` (an unknown name, an agent or test it lacks), or ''."""
    if need.experiment not in experiments:
        return (f"experiment {need.experiment!r}, which glam_bench.paper.study does not declare "
                f"(experiments: {', '.join(experiments)})")
    if need.agent not in agents:
        return (f"agent {need.agent!r}, which glam_bench.paper.study does not declare "
                f"(agents: {', '.join(agents)})")
    if need.experiment not in agents[need.agent].experiments:
        return (f"agent {need.agent!r} in experiment {need.experiment!r}, but the study's "
                f"{need.agent!r} does not take part in it (AgentSpec.experiments)")
    if need.test and need.test not in experiments[need.experiment].tests:
        return (f"test {need.test!r} of experiment {need.experiment!r}, which the study does "
                f"not give it (tests: {', '.join(experiments[need.experiment].tests)})")
    return ""


def check_items(
    experiments: Mapping[str, study.ExperimentSpec] = study.EXPERIMENTS_BY_NAME,
    agents: Mapping[str, study.AgentSpec] = study.AGENTS_BY_NAME,
    declared: tuple[str, ...] = (*study.FIGURE_ITEMS, *study.TABLE_ITEMS),
) -> None:
    """Refuse a spec that names an item, experiment, agent or test the study does not declare.

    Run at import on the study's own tables (tests pass edited copies). Without it a
    renamed experiment would leave its figure with no results to draw, and the build
    would skip that figure as "missing results" instead of failing.
    """
    specs = set(_NEEDS)
    for item in declared:
        if item not in specs:
            raise ReportItemError(
                f"report item {item!r} is declared in glam_bench.paper.study.REPORT_ITEMS but has no "
                "spec in glam_bench/report/items.py; add its spec there (or remove the item)")
    for item in sorted(specs - set(declared)):
        raise ReportItemError(
            f"glam_bench/report/items.py has a spec for {item!r}, which "
            "glam_bench.paper.study.REPORT_ITEMS does not declare; rename the spec to a declared "
            "item or declare the item")
    table_needs = [Need("episodes", e, a, t) for e, tests in GENERALISATION_TABLE_TESTS.items()
                   for t in tests for a in GENERALISATION_AGENTS]
    for study_spec in CURVE_STUDIES.values():
        drawn = {s.experiment for s in study_spec.series}
        for experiment in study_spec.experiments:
            if experiment not in drawn:
                raise ReportItemError(
                    f"report item {study_spec.name!r} names experiment {experiment!r} in its "
                    "variable, panels or SE change but draws no series of it; name it in its "
                    "series too (glam_bench/report/items.py)")
    for item in declared:
        extra = table_needs if item == GENERALISATION_TABLE else []
        for need in (*_NEEDS[item], *extra):
            problem = _need_problem(need, experiments, agents)
            if problem:
                raise ReportItemError(
                    f"report item {item!r} draws from {problem}; rename it in "
                    "glam_bench/report/items.py to what glam_bench.paper.study declares")


check_items()
