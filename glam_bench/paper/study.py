"""The paper's study, declared once: its agents and its experiments (data only, no torch).

Everything else derives from these tables: the agent rosters and which module
serves each agent (``glam_bench.agents.families``), the LLM policy variants
(``glam_bench.llm.heads``), the preset schema's enums, the Snakemake grid and
rules, the report's labels and colours, and the synthetic result set. A preset
(``workflows/config/*.yaml``) never repeats this: it says only *how* the study
is run (seeds, model, frames, envs, PPO and evaluation sizes, protocol
switches, device, folders, and optionally a subset of experiments and tests).

Adding an agent is one :class:`AgentSpec` in :data:`AGENTS` (its ``experiments``
say where it is trained and tested) plus the module named by ``family``, which
offers ``build_learner(config)`` and ``build_agent(config, learner_state,
vector_env, test_set, seed)``. README, "Add your own agent".

This module imports nothing of the suite but the standard library, so the
Snakefile, the schema and the report layer can all read it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# --- Agents ------------------------------------------------------------------------------

#: What an agent is, as far as the pipeline cares:
#: ``llm`` an LLM fine-tuned online with PPO (§B.4, §C); ``baseline`` a non-LLM learner
#: (DRRN §B.5, Symbolic-PPO §B.6); ``bc`` behavioural cloning (§C, Q4); ``reference`` an
#: agent evaluated without a training run (zero-shot LLM, random, BabyAI bot).
AGENT_KINDS = ("llm", "baseline", "bc", "reference")

LLM_PPO_FAMILY = "glam_bench.agents.llm_ppo"
#: What an LLM PPO agent reads of its run config beyond the common keys.
LLM_PPO_READS = ("llm", "ppo")
BC_SETTINGS = "glam_bench.agents.bc.settings"


@dataclass(frozen=True)
class LLMInit:
    """How an LLM agent initialises and uses its language model (§B.4).

    ``pretrained``: the pretrained weights (else a seeded random init);
    ``embeddings_only``: of a random init, keep the pretrained token embeddings;
    ``action_heads``: an MLP over the encoder/decoder state gives one logit per
    action, instead of scoring each action's text; ``trainable``: PPO updates it.
    """

    pretrained: bool
    embeddings_only: bool
    action_heads: bool
    trainable: bool = True


@dataclass(frozen=True)
class AgentSpec:
    """One agent of the study.

    ``family`` is the module that trains and builds it; ``experiments`` the
    experiments it takes part in (as a trained agent, or as a reference agent
    when ``kind`` is ``reference``). ``llm`` is set for agents acting through an
    LLM scorer; ``model`` is what ``run.json`` and the result rows of an agent
    without an LLM say its model is (agents with one write the run's model; the
    values are written into results: never change them); ``demonstrator`` is whose trajectories a BC agent clones (§C, Q4).
    ``reads`` names the settings blocks its runs' results depend on (see the field).
    ``settings`` names the module of the family's own settings block (``drrn``,
    ``symbolic_ppo``, ``bc``): its ``from_run_config(run)`` builds and checks them. It
    imports without torch, so a preset's checks can call it before any job runs.
    """

    name: str
    kind: str
    family: str
    label: str
    colour: str
    experiments: tuple[str, ...] = ()
    llm: LLMInit | None = None
    model: str | None = None
    demonstrator: str | None = None
    settings: str | None = None
    #: The run-config blocks its family reads (:data:`glam_bench.runtime.config.SETTINGS_BLOCKS`:
    #: ``llm``, ``ppo``, ``drrn``, ``symbolic_ppo``, ``bc``); the others are left out of its run
    #: identity, so editing them reruns nothing of it. None: every block (the safe default).
    reads: tuple[str, ...] | None = None
    #: Whether it takes part in its experiments when a preset names no agents; an agent that is
    #: not takes part only in presets that name it (``agents: [...]``), as ``paper-cpu`` names
    #: the bot: an expert that costs tests, not a result of the paper's figures.
    in_default: bool = True

    @property
    def trained(self) -> bool:
        """Whether the agent has a training run (reference agents are only evaluated)."""
        return self.kind != "reference"

    @property
    def has_network(self) -> bool:
        """Whether the agent runs a neural network (worth a GPU); random and the bot do not."""
        return self.llm is not None or self.kind in ("baseline", "bc")


#: The experiments of each group, as the paper's figures use them (§E.4, §E.5, §E.7).
Q1_EXPERIMENTS = ("mixed", "gotolocal", "actions-3", "actions-9", "distractors-4", "distractors-16")
SCORER_EXPERIMENTS = ("scorer-logprob", "scorer-raw_logits", "scorer-prob_ratio")
PROMPT_LENGTH_EXPERIMENTS = ("obs-1", "obs-6", "obs-9")
LORA_EXPERIMENTS = ("mixed-lora", "gotolocal-lora")

#: Every agent, in the order used everywhere (runs, legends, summaries).
AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec("gflan", "llm", LLM_PPO_FAMILY, "GFlan-T5", "#1f77b4",
              experiments=(*Q1_EXPERIMENTS, "size-small", "size-xl", "pretraining",
                           *PROMPT_LENGTH_EXPERIMENTS, *SCORER_EXPERIMENTS, *LORA_EXPERIMENTS),
              llm=LLMInit(pretrained=True, embeddings_only=False, action_heads=False),
              reads=LLM_PPO_READS),
    AgentSpec("aflan", "llm", LLM_PPO_FAMILY, "AFlan-T5", "#e377c2",
              experiments=("pretraining",),
              llm=LLMInit(pretrained=True, embeddings_only=False, action_heads=True),
              reads=LLM_PPO_READS),
    AgentSpec("npae", "llm", LLM_PPO_FAMILY, "NPAE-Flan-T5", "#ff7f0e",
              experiments=(*Q1_EXPERIMENTS, "pretraining"),
              llm=LLMInit(pretrained=False, embeddings_only=True, action_heads=True),
              reads=LLM_PPO_READS),
    AgentSpec("npa", "llm", LLM_PPO_FAMILY, "NPA-Flan-T5", "#bcbd22",
              experiments=("pretraining",),
              llm=LLMInit(pretrained=False, embeddings_only=False, action_heads=True),
              reads=LLM_PPO_READS),
    AgentSpec("npe", "llm", LLM_PPO_FAMILY, "NPE-Flan-T5", "#393b79",
              experiments=("pretraining",),
              llm=LLMInit(pretrained=False, embeddings_only=True, action_heads=False),
              reads=LLM_PPO_READS),
    AgentSpec("drrn", "baseline", "glam_bench.agents.drrn.learner", "DRRN", "#2ca02c",
              experiments=(*Q1_EXPERIMENTS, "gotoredball", "drrn-first-obs"), model="DRRN",
              settings="glam_bench.agents.drrn.config", reads=("drrn",)),
    AgentSpec("symbolic-ppo", "baseline", "glam_bench.agents.symbolic_ppo.learner",
              "Symbolic-PPO", "#7f7f7f",
              experiments=(*Q1_EXPERIMENTS, "gotoredball"), model="expert_filmcnn",
              settings="glam_bench.agents.symbolic_ppo.config", reads=("symbolic_ppo",)),
    AgentSpec("bc-bot", "bc", "glam_bench.agents.bc", "BC-Bot", "#d62728",
              experiments=("bc",), demonstrator="bot",
              llm=LLMInit(pretrained=True, embeddings_only=False, action_heads=False),
              settings=BC_SETTINGS, reads=("llm", "bc")),
    AgentSpec("bc-gflan", "bc", "glam_bench.agents.bc", "BC-GFlan-T5", "#17becf",
              experiments=("bc",), demonstrator="gflan",
              llm=LLMInit(pretrained=True, embeddings_only=False, action_heads=False),
              settings=BC_SETTINGS, reads=("llm", "bc")),
    AgentSpec("zero-shot", "reference", LLM_PPO_FAMILY, "Flan-T5 (zero-shot)", "#9467bd",
              experiments=("mixed", "gotolocal"),
              llm=LLMInit(pretrained=True, embeddings_only=False, action_heads=False,
                          trainable=False),
              reads=("llm",)),
    AgentSpec("random", "reference", "glam_bench.agents.random", "Random", "#8c564b",
              experiments=("mixed", "gotolocal"), model="none", reads=()),
    AgentSpec("bot", "reference", "glam_bench.agents.bot", "BabyAI bot", "#000000",
              experiments=("mixed", "gotolocal"), model="babyai-bot", reads=(), in_default=False),
)

# --- Experiments -------------------------------------------------------------------------

#: The generalisation tests of MixedTrainLocal (§D.2, §D.3), in the paper's order.
MIXED_TESTS = ("no_change", "other_nouns", "adj_synonyms", "invented_nouns", "invented_adjectives",
               "invented_words", "first_person_speaker", "first_person_agent", "synonym_actions",
               "synonym_actions_2", "new_composition", "held_out_pairs")
#: GoToLocal's tests: its own tasks, the French test and its English reference (§D.4).
GOTOLOCAL_TESTS = ("no_change", "french", "english_gotolocal")

GOTOLOCAL = "BabyAI-Text-GoToLocal-v0"


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment: the env its agents train in, their tests, and what it varies.

    ``training`` holds only what the experiment *is* (action space, observations
    in the prompt, scorer, adapter), merged over the preset's training settings.
    ``model_size`` names a size the preset maps to a model (``model_sizes``);
    ``frame_budget`` names a training length the preset maps to frames
    (``frame_budgets``; a budget the preset does not list runs
    ``training.total_frames``). ``in_default`` experiments run when a preset
    names no subset; the others are opt-in (``experiments: [...]``).
    ``selected_agents`` narrows the agents to a preset's ``agents: [...]`` subset
    (None: every ``in_default`` agent the study puts in the experiment).
    """

    name: str
    env: str
    description: str = ""
    tests: tuple[str, ...] = ()
    training: dict[str, Any] = field(default_factory=dict)
    model_size: str | None = None
    frame_budget: str | None = None
    in_default: bool = True
    selected_agents: tuple[str, ...] | None = None

    @property
    def agents(self) -> tuple[str, ...]:
        """The trained agents of this experiment, in :data:`AGENTS` order."""
        return tuple(a.name for a in self._taking_part() if a.trained)

    @property
    def reference_agents(self) -> tuple[str, ...]:
        """The reference agents evaluated beside them, in :data:`AGENTS` order."""
        return tuple(a.name for a in self._taking_part() if not a.trained)

    def _taking_part(self) -> list[AgentSpec]:
        return [a for a in AGENTS if self.name in a.experiments
                and (a.in_default if self.selected_agents is None else a.name in self.selected_agents)]


def _gotolocal_variant(name: str, description: str = "", env: str = GOTOLOCAL,
                       **spec: Any) -> ExperimentSpec:
    """A GoToLocal-length experiment (400k frames in the paper, §E.5) with no tests."""
    return ExperimentSpec(name, env, description, frame_budget="gotolocal", **spec)


EXPERIMENTS: tuple[ExperimentSpec, ...] = (
    ExperimentSpec("mixed", "BabyAI-Text-MixedTrainLocal-v0",
                   "Q1 sample efficiency and Q2/Q3 generalisation on MixedTrainLocal (Fig. 2, Fig. 4)",
                   tests=MIXED_TESTS),
    _gotolocal_variant("gotolocal",
                       "GoToLocal base (6 actions, 8 distractors, 3 observations); French test (panel f)",
                       tests=GOTOLOCAL_TESTS),
    _gotolocal_variant("actions-3", "restricted action space (Q1, §E.5)",
                       training={"action_space": "restricted"}),
    _gotolocal_variant("actions-9", "augmented action space (Q1, §E.5)",
                       training={"action_space": "augmented"}),
    _gotolocal_variant("distractors-4", "4 distractors (Q1, §E.5)", env="BabyAI-Text-GoToLocalS8N4-v0"),
    _gotolocal_variant("distractors-16", "16 distractors (Q1, §E.5)", env="BabyAI-Text-GoToLocalS8N16-v0"),
    ExperimentSpec("bc", GOTOLOCAL, "Q4 online RL vs behavioural cloning on GoToLocal",
                   tests=("no_change",)),
    _gotolocal_variant("size-small", "model size: the small model (§E.7)", model_size="small"),
    _gotolocal_variant("size-xl", "model size: the xl model (§E.7)", model_size="xl"),
    ExperimentSpec("pretraining", GOTOLOCAL, "GFlan / AFlan / NPAE / NPA / NPE ablation (§B.4), 500k frames",
                   frame_budget="pretraining"),
    _gotolocal_variant("obs-1", "prompt length: 1 observation (§E.7)", training={"nbr_obs": 1}),
    _gotolocal_variant("obs-6", "prompt length: 6 observations (§E.7)", training={"nbr_obs": 6}),
    _gotolocal_variant("obs-9", "prompt length: 9 observations (§E.7)", training={"nbr_obs": 9}),
    _gotolocal_variant("gotoredball", "DRRN vs Symbolic-PPO on GoToRedBall (§E.7)",
                       env="BabyAI-Text-GoToRedBall-v0"),
    _gotolocal_variant("scorer-logprob", "beyond the paper, the correct log-probability scorer (§H.1)",
                       training={"scorer": "logprob"}),
    _gotolocal_variant("scorer-raw_logits", "beyond the paper, the May-2023 raw-logits scorer (§H.1)",
                       training={"scorer": "raw_logits"}),
    _gotolocal_variant("scorer-prob_ratio", "beyond the paper, the Feb-2023 P/max P scorer (§H.1)",
                       training={"scorer": "prob_ratio"}),
    _gotolocal_variant("drrn-first-obs",
                       "DRRN with the authors' missing first observation after a reset (§B.1), "
                       "beside gotolocal's fixed DRRN: the switch's effect (docs/fidelity.md)",
                       tests=GOTOLOCAL_TESTS,
                       training={"drrn": {"faithful_missing_first_obs": True}}, in_default=False),
    ExperimentSpec("mixed-lora", "BabyAI-Text-MixedTrainLocal-v0",
                   "GFlan with LoRA on MixedTrainLocal (beyond the paper)", tests=MIXED_TESTS,
                   training={"adapter": {"kind": "lora", "r": 8, "alpha": 16}}, in_default=False),
    ExperimentSpec("gotolocal-lora", GOTOLOCAL, "GFlan with LoRA on GoToLocal (beyond the paper)",
                   tests=GOTOLOCAL_TESTS,
                   training={"adapter": {"kind": "lora", "r": 8, "alpha": 16}}, in_default=False),
)

# --- Derived views -----------------------------------------------------------------------

AGENTS_BY_NAME: dict[str, AgentSpec] = {a.name: a for a in AGENTS}
EXPERIMENTS_BY_NAME: dict[str, ExperimentSpec] = {e.name: e for e in EXPERIMENTS}

AGENT_NAMES: tuple[str, ...] = tuple(AGENTS_BY_NAME)
TRAINED_AGENTS: tuple[str, ...] = tuple(a.name for a in AGENTS if a.trained)
REFERENCE_AGENTS: tuple[str, ...] = tuple(a.name for a in AGENTS if not a.trained)
LLM_AGENTS: tuple[str, ...] = tuple(a.name for a in AGENTS if a.kind == "llm")
BC_AGENTS: tuple[str, ...] = tuple(a.name for a in AGENTS if a.kind == "bc")
BASELINE_AGENTS: tuple[str, ...] = tuple(a.name for a in AGENTS if a.kind == "baseline")
#: Reference agents without a model (random, the bot): they need no run to act.
MODEL_FREE_AGENTS: tuple[str, ...] = tuple(a.name for a in AGENTS if not a.trained and a.llm is None)
DEFAULT_EXPERIMENTS: tuple[str, ...] = tuple(e.name for e in EXPERIMENTS if e.in_default)


def _check_study() -> None:
    """Fail at import when the tables contradict each other (a typo would drop runs silently)."""
    for agent in AGENTS:
        if agent.kind not in AGENT_KINDS:
            raise ValueError(f"study: agent {agent.name!r} has unknown kind {agent.kind!r}; "
                             f"choose one of {AGENT_KINDS}")
        unknown = [e for e in agent.experiments if e not in EXPERIMENTS_BY_NAME]
        if unknown:
            raise ValueError(f"study: agent {agent.name!r} names unknown experiments {unknown}; "
                             f"experiments are {list(EXPERIMENTS_BY_NAME)}")
    for experiment in EXPERIMENTS:
        if not experiment.agents:
            raise ValueError(f"study: experiment {experiment.name!r} has no trained agent; "
                             "add it to an agent's experiments")
    if len(AGENTS_BY_NAME) != len(AGENTS) or len(EXPERIMENTS_BY_NAME) != len(EXPERIMENTS):
        raise ValueError("study: an agent or experiment name is declared twice")


_check_study()

# --- Report items ------------------------------------------------------------------------

#: What a report item writes: a ``figure`` (PNG + PDF), a ``table`` (CSV + Markdown + LaTeX),
#: or the ``summary`` CSVs every report writes beside them.
REPORT_ITEM_KINDS = ("figure", "table", "summary")

#: The caption's last paragraph for items drawn from results: Snakemake renders the Jinja
#: when it writes its HTML report (``snakemake --report``).
PRESET_NOTE = ("Preset **{{ snakemake.config['preset'] }}** of this run (figures drawn from "
               "the committed cache say which preset made their results in their footer). "
               "The number of seeds and episodes behind every value is printed on the figure.")


@dataclass(frozen=True)
class ReportItem:
    """One figure or table of the report, and the caption the Snakemake report shows for it.

    ``name`` is the stem of its files (``paper_figures/<name>.png``), its ``--only`` name
    and its Snakemake target (``fig_<name>``). What it draws (experiments, agents, tests)
    is its spec in ``glam_bench.report.items``, checked against :data:`EXPERIMENTS` and
    :data:`AGENTS` when that module is imported. ``title`` and ``caption`` are the
    caption's first two paragraphs (reStructuredText); ``preset_note`` adds
    :data:`PRESET_NOTE`, for items drawn from results.
    """

    name: str
    kind: str
    title: str
    caption: str
    preset_note: bool = True


#: Every item of the report, in build order (figures, then tables, then the summaries).
REPORT_ITEMS: tuple[ReportItem, ...] = (
    ReportItem("q1_mixed_curves", "figure",
               "Q1, sample efficiency on MixedTrainLocal (paper Fig. 2).",
               "Success rate against environment frames of GFlan-T5, NPAE-Flan-T5, DRRN and "
               "Symbolic-PPO trained on BabyAI-Text MixedTrainLocal: mean over seeds with one"
               " standard deviation, after the authors' 10-update rolling mean. Points "
               "digitised from the paper are drawn beside our curves."),
    ReportItem("q1_action_space", "figure",
               "Q1, size of the action space on GoToLocal (paper §E.5).",
               "Sample efficiency (mean of the success-rate curve, 99% interval) with the "
               "restricted (3), canonical (6) and augmented (9) action spaces, and the "
               "training curves behind it, one panel per action space plus a comparison "
               "panel."),
    ReportItem("q1_distractors", "figure",
               "Q1, number of distractors on GoToLocal (paper §E.5).",
               "Sample efficiency with 4, 8 and 16 distractors and the curves behind it; the "
               "box compares our relative drop from 4 to 16 distractors with the paper's."),
    ReportItem("q2q3_generalisation", "figure",
               "Q2/Q3, generalisation tests (paper Fig. 4).",
               "Success rate of each agent on the post-training test sets, panels (a) to (f):"
               " training tasks, out-of-vocabulary nouns, invented words, new composition, "
               "synonym actions and French. Light bars show the reference test each panel is "
               "compared with; labels give the relative change in percent; error bars are the"
               " 99% interval over seeds; diamonds are the paper's values. The footer names "
               "the test protocol (``evaluation.counting``, ``evaluation.task_sampling``), "
               "the scoring switches and the French goal of panel (f) "
               "(``training.french_goal``); see docs/fidelity.md."),
    ReportItem("q4_online_vs_bc", "figure",
               "Q4, online RL against behavioural cloning (paper §E.6).",
               "Test success rate on GoToLocal of GFlan-T5 trained online with PPO, of "
               "Flan-T5 cloned from the trajectories of the trained GFlan-T5 (BC-GFlan-T5) "
               "and cloned from the BabyAI bot (BC-Bot)."),
    ReportItem("appendix_model_size", "figure",
               "Appendix, model size (paper §E.7).",
               "Training curves and sample efficiency of GFlan-T5 with the small, large and "
               "xl Flan-T5 on GoToLocal, beside NPAE-Flan-T5, DRRN and Symbolic-PPO."),
    ReportItem("appendix_pretraining", "figure",
               "Appendix, pretraining ablation (paper §B.4).",
               "GFlan-T5, AFlan-T5, NPAE, NPA and NPE on GoToLocal: which parts of the "
               "pretrained model (weights, embeddings, action scoring) the sample efficiency "
               "comes from."),
    ReportItem("appendix_prompt_length", "figure",
               "Appendix, prompt length (paper §B.1, §E.7).",
               "GFlan-T5 with 1, 3, 6 or 9 past observations in its prompt, on GoToLocal."),
    ReportItem("appendix_gotoredball", "figure",
               "Appendix, GoToRedBall (paper §E.7).",
               "DRRN against Symbolic-PPO on the GoToRedBall level."),
    ReportItem("appendix_policy_evolution", "figure",
               "Appendix, evolution of the policy (paper §E.7).",
               "Probability of each action on the fixed monitoring prompts, logged after "
               "every update of the GFlan-T5 run on MixedTrainLocal, mean over seeds. The "
               "prompts are the suite's 11 or the authors' 11 "
               "(``training.monitoring_prompts``); the footer says which (docs/fidelity.md)."),
    ReportItem("extra_scorer_comparison", "figure",
               "Beyond the paper, candidate-scoring variants (§H.1).",
               "GFlan-T5 trained with the true log-probability scorer, the raw-logit sum of "
               "the authors' May-2023 code and the probability ratio of their Feb-2023 code."),
    ReportItem("extra_task_kinds", "figure",
               "Beyond the paper, success per task kind.",
               "Test success rate on the MixedTrainLocal training tasks broken down by task "
               "kind (go to, pick up, open, put next, sequences) for each agent."),
    ReportItem("table_generalisation", "table",
               "Table, generalisation tests.",
               "Mean return and success rate of every agent on every post-training test, with"
               " the 99% interval over seeds (z = 2.5758), beside the paper's values where it"
               " gives them. Also written as CSV and LaTeX."),
    ReportItem("table_prompts", "table",
               "Table, example prompts (Table 2 of the paper, §B.1).",
               "The paper's example prompt beside the one the suite's prompt builder writes "
               "from the same observations and actions (identical, character for character), "
               "then prompts the suite writes while the BabyAI bot plays its envs, in English"
               " and in French with both French goals (``training.french_goal``: the suite's "
               "grammatical translation and the authors'). Drawn from the code, not from "
               "results. Also written as CSV and LaTeX.",
               preset_note=False),
    ReportItem("table_reproduction", "table",
               "Table, the paper's numbers reproduced without a language model.",
               "One row per value the paper gives for the agents that act without a language "
               "model (random, BabyAI bot, DRRN, Symbolic-PPO): the Random and DRRN bars of the "
               "generalisation figure (v2 and v1), DRRN and Symbolic-PPO at 1.5M frames on "
               "Mixed, Symbolic-PPO's SE drop from 4 to 16 distractors. Ours: mean ± 99% "
               "interval over seeds (§D.1) with the seeds and episodes behind it, the "
               "difference, and whether the paper's value lies in our interval; rows our "
               "results lack say so. Also written as CSV and LaTeX; docs/reproduction.md "
               "quotes it."),
    ReportItem("summaries", "summary",
               "",
               "Summary CSVs behind the figures and tables: per-test success rates with "
               "intervals (summary_tests.csv), per-seed rates (summary_seeds.csv), "
               "per-task-kind rates (summary_task_kinds.csv), sample efficiency "
               "(summary_sample_efficiency.csv) and the learning curves as drawn "
               "(summary_curves.csv)."),
)

REPORT_ITEMS_BY_NAME: dict[str, ReportItem] = {i.name: i for i in REPORT_ITEMS}
FIGURE_ITEMS: tuple[str, ...] = tuple(i.name for i in REPORT_ITEMS if i.kind == "figure")
TABLE_ITEMS: tuple[str, ...] = tuple(i.name for i in REPORT_ITEMS if i.kind == "table")


def caption_text(item: ReportItem) -> str:
    """The item's caption as the ``.rst`` file Snakemake's ``report(caption=...)`` reads."""
    paragraphs = (item.title, item.caption, PRESET_NOTE if item.preset_note else "")
    return "\n\n".join(p for p in paragraphs if p) + "\n"


def _check_report_items() -> None:
    """Fail at import on an unknown item kind or a name declared twice."""
    for item in REPORT_ITEMS:
        if item.kind not in REPORT_ITEM_KINDS:
            raise ValueError(f"study: report item {item.name!r} has unknown kind {item.kind!r}; "
                             f"choose one of {REPORT_ITEM_KINDS}")
    if len(REPORT_ITEMS_BY_NAME) != len(REPORT_ITEMS):
        raise ValueError("study: a report item name is declared twice")


_check_report_items()
