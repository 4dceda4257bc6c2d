"""What every report item shows, as data: agents, colours, tests, experiments, figures.

This is the one place that maps a paper item (§E) to the result rows it needs
(experiment id, agent id, test id). Figure and table code reads these specs and
never names an experiment itself, so re-pointing an item (say, Q4 compared on
another test) is a one-line change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- Agents ------------------------------------------------------------------

#: Display names, as printed in the paper's legends (§E.3-§E.7).
AGENT_LABELS: dict[str, str] = {
    "gflan": "GFlan-T5",
    "npae": "NPAE-Flan-T5",
    "drrn": "DRRN",
    "symbolic-ppo": "Symbolic-PPO",
    "zero-shot": "Flan-T5 (zero-shot)",
    "random": "Random",
    "bc-bot": "BC-Bot",
    "bc-gflan": "BC-GFlan-T5",
    "aflan": "AFlan-T5",
    "npa": "NPA-Flan-T5",
    "npe": "NPE-Flan-T5",
}

#: One colour per agent in every figure. The first four follow the paper's
#: Mixed curves (§E.4: blue, orange, green, grey); the rest are distinct.
AGENT_COLOURS: dict[str, str] = {
    "gflan": "#1f77b4",
    "npae": "#ff7f0e",
    "drrn": "#2ca02c",
    "symbolic-ppo": "#7f7f7f",
    "zero-shot": "#9467bd",
    "random": "#8c564b",
    "bc-bot": "#d62728",
    "bc-gflan": "#17becf",
    "aflan": "#e377c2",
    "npa": "#bcbd22",
    "npe": "#393b79",
}

#: The four agents trained in the Q1 studies (§E.4, §E.5).
TRAINED_AGENTS: tuple[str, ...] = ("gflan", "npae", "drrn", "symbolic-ppo")
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
    "mixed": (
        "no_change", "other_nouns", "adj_synonyms", "invented_nouns", "invented_adjectives",
        "invented_words", "first_person_speaker", "first_person_agent", "synonym_actions",
        "synonym_actions_2", "new_composition", "held_out_pairs",
    ),
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
    series=tuple(Series("mixed", a) for a in TRAINED_AGENTS),
    frame_limit=MIXED_FRAME_LIMIT,
)

ACTION_SPACE = CurveStudy(
    name="q1_action_space",
    title="Q1: action-space size (GoToLocal)",
    series=tuple(
        Series(e, a) for e in ("actions-3", "gotolocal", "actions-9") for a in TRAINED_AGENTS
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
        for a in TRAINED_AGENTS
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
)

#: Line styles that tell the experiments of a "Comparison" panel apart.
COMPARISON_LINESTYLES: tuple[str, ...] = (":", "-", "--")

# --- Q2/Q3 (§E.3) ------------------------------------------------------------

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

#: Which run's ``policy_log.csv`` feeds the policy-evolution figure (§E.7).
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

#: The experiment broken down by task kind in the per-task-kind figure.
TASK_KIND_EXPERIMENT = "mixed"
#: Task kinds in the authors' order (§A.5), then the new-composition kind (§D.3).
TASK_KIND_ORDER: tuple[str, ...] = (
    "goto", "pickup", "open", "putnext", "pick up seq go to", "pick up seq pick up",
)
TASK_KIND_AGENT_ORDER: tuple[str, ...] = (*TRAINED_AGENTS, "zero-shot", "random")

#: Every item of the report, in build order.
FIGURE_ITEMS: tuple[str, ...] = (
    "q1_mixed_curves",
    "q1_action_space",
    "q1_distractors",
    "q2q3_generalisation",
    "q4_online_vs_bc",
    "appendix_model_size",
    "appendix_pretraining",
    "appendix_prompt_length",
    "appendix_gotoredball",
    "appendix_policy_evolution",
    "extra_scorer_comparison",
    "extra_task_kinds",
)
TABLE_ITEMS: tuple[str, ...] = ("table_generalisation", "table_prompts")


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


def item_needs(item: str) -> list[Need]:
    """Result groups that ``item`` requires; an item lacking any of them is skipped."""
    if item in CURVE_STUDIES:
        return [Need("train_log", s.experiment, s.agent) for s in CURVE_STUDIES[item].series]
    if item in ("q2q3_generalisation", "table_generalisation"):
        return _generalisation_needs()
    if item == ONLINE_VS_BC.name:
        return [Need("episodes", s.experiment, s.agent, ONLINE_VS_BC.test)
                for s in ONLINE_VS_BC.series]
    if item == "appendix_policy_evolution":
        return [Need("policy_log", POLICY_EVOLUTION.experiment, POLICY_EVOLUTION.agent)]
    if item == "table_prompts":
        return []  # drawn from the prompt builder and the envs, no result file
    if item == "extra_task_kinds":
        return [Need("episodes", TASK_KIND_EXPERIMENT, a, "no_change") for a in TRAINED_AGENTS]
    raise KeyError(f"unknown report item {item!r}")
