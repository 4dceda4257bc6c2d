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
    LLM scorer; ``model_label`` names the model of agents without an LLM (it
    fills the ``model`` column of synthetic results); ``model_name`` is what
    ``run.json`` and the result rows of an agent with neither an LLM nor a
    learner say its model is (the values are written into results: never change
    them); ``demonstrator`` is whose trajectories a BC agent clones (§C, Q4).
    """

    name: str
    kind: str
    family: str
    label: str
    colour: str
    experiments: tuple[str, ...] = ()
    llm: LLMInit | None = None
    model_label: str | None = None
    model_name: str | None = None
    demonstrator: str | None = None

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
              llm=LLMInit(pretrained=True, embeddings_only=False, action_heads=False)),
    AgentSpec("aflan", "llm", LLM_PPO_FAMILY, "AFlan-T5", "#e377c2",
              experiments=("pretraining",),
              llm=LLMInit(pretrained=True, embeddings_only=False, action_heads=True)),
    AgentSpec("npae", "llm", LLM_PPO_FAMILY, "NPAE-Flan-T5", "#ff7f0e",
              experiments=(*Q1_EXPERIMENTS, "pretraining"),
              llm=LLMInit(pretrained=False, embeddings_only=True, action_heads=True)),
    AgentSpec("npa", "llm", LLM_PPO_FAMILY, "NPA-Flan-T5", "#bcbd22",
              experiments=("pretraining",),
              llm=LLMInit(pretrained=False, embeddings_only=False, action_heads=True)),
    AgentSpec("npe", "llm", LLM_PPO_FAMILY, "NPE-Flan-T5", "#393b79",
              experiments=("pretraining",),
              llm=LLMInit(pretrained=False, embeddings_only=True, action_heads=False)),
    AgentSpec("drrn", "baseline", "glam_bench.agents.drrn.learner", "DRRN", "#2ca02c",
              experiments=(*Q1_EXPERIMENTS, "gotoredball"), model_label="drrn"),
    AgentSpec("symbolic-ppo", "baseline", "glam_bench.agents.symbolic_ppo.learner",
              "Symbolic-PPO", "#7f7f7f",
              experiments=(*Q1_EXPERIMENTS, "gotoredball"), model_label="symbolic-ppo"),
    AgentSpec("bc-bot", "bc", "glam_bench.agents.bc", "BC-Bot", "#d62728",
              experiments=("bc",), demonstrator="bot",
              llm=LLMInit(pretrained=True, embeddings_only=False, action_heads=False)),
    AgentSpec("bc-gflan", "bc", "glam_bench.agents.bc", "BC-GFlan-T5", "#17becf",
              experiments=("bc",), demonstrator="gflan",
              llm=LLMInit(pretrained=True, embeddings_only=False, action_heads=False)),
    AgentSpec("zero-shot", "reference", LLM_PPO_FAMILY, "Flan-T5 (zero-shot)", "#9467bd",
              experiments=("mixed", "gotolocal"),
              llm=LLMInit(pretrained=True, embeddings_only=False, action_heads=False,
                          trainable=False)),
    AgentSpec("random", "reference", "glam_bench.agents.random", "Random", "#8c564b",
              experiments=("mixed", "gotolocal"), model_label="random", model_name="none"),
    AgentSpec("bot", "reference", "glam_bench.agents.bot", "BabyAI bot", "#000000",
              model_label="bot", model_name="babyai-bot"),
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
    """

    name: str
    env: str
    description: str = ""
    tests: tuple[str, ...] = ()
    training: dict[str, Any] = field(default_factory=dict)
    model_size: str | None = None
    frame_budget: str | None = None
    in_default: bool = True

    @property
    def agents(self) -> tuple[str, ...]:
        """The trained agents of this experiment, in :data:`AGENTS` order."""
        return tuple(a.name for a in AGENTS if self.name in a.experiments and a.trained)

    @property
    def reference_agents(self) -> tuple[str, ...]:
        """The reference agents evaluated beside them, in :data:`AGENTS` order."""
        return tuple(a.name for a in AGENTS if self.name in a.experiments and not a.trained)


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
