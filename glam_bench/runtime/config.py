"""Presets (YAML validated by a JSON schema) and the run configs resolved from them.

A preset (``workflows/config/*.yaml``) is data saying *how* the study runs:
seeds, training defaults, per-agent and per-experiment overrides, the model of
each model size, the frames of each frame budget, an optional subset of
experiments and tests, and the evaluation settings. *What* the study is (its
experiments, their envs, agents and tests) is :mod:`glam_bench.paper.study`;
:func:`study_grid` is the part of it a preset selects. One run is (experiment,
agent, seed); :func:`resolve_run` merges its settings into a frozen
:class:`RunConfig`. The Snakefile and the ``glam-bench`` CLI both go through
this module, so a run means the same thing whichever way it is started.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from glam_bench.paper import study
from glam_bench.errors import GlamBenchError

SCHEMA_PATH = Path(__file__).with_name("preset_schema.yaml")


class ConfigError(GlamBenchError, ValueError):
    """A preset or run request that cannot be used; the message says what and how to fix it."""


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def training_default(key: str) -> Any:
    """The ``default`` the preset schema declares for training key ``key``.

    The schema is the one source of these defaults: :class:`RunConfig` takes
    its field defaults from here, so a preset that leaves the key out and a
    run config built in code mean the same thing (``docs/fidelity.md``).
    """
    return load_schema()["$defs"]["training"]["properties"][key]["default"]


def training_choices(key: str) -> tuple[str, ...]:
    """The values the preset schema's ``enum`` allows for training key ``key``."""
    return tuple(load_schema()["$defs"]["training"]["properties"][key]["enum"])


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyperparameters; defaults are the paper's (§C)."""

    lr: float = 1e-6
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-5
    epochs: int = 4
    minibatch_size: int = 64
    gamma: float = 0.99
    gae_lambda: float = 0.99
    clip_eps: float = 0.2
    entropy_coef: float = 0.01
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    #: Samples per forward/backward inside one minibatch (gradient accumulation; None: the
    #: whole minibatch at once). Changes memory, not the update.
    micro_batch_size: int | None = None
    #: Recompute layer activations in backward (glam_bench.llm.heads); for models whose
    #: activations do not fit (Flan-T5-xl). Same gradients.
    gradient_checkpointing: bool = False


#: Engines a preset's ``data_parallel`` key may name (glam_bench.llm.sharding): the schema's enum.
DATA_PARALLEL_ENGINES = training_choices("data_parallel")

#: Adapter kinds a preset's ``adapter`` block may name (only LoRA so far).
ADAPTER_KINDS = ("lora",)


@dataclass(frozen=True)
class AdapterConfig:
    """A parameter-efficient adapter on the LLM (beyond the paper): LoRA, built with peft.

    ``target_modules`` None means the default for the model family (peft's
    table: T5 ``q, v``; Llama/SmolLM2 ``q_proj, v_proj``; GPT-2 ``c_attn``).
    ``dropout`` acts in the PPO update's forward passes only; acting stays
    deterministic. See :mod:`glam_bench.llm.adapters`.
    """

    kind: str = "lora"
    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    target_modules: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        def bad(key: str, why: str) -> ConfigError:
            return ConfigError(f"adapter.{key}: {why}; fix the adapter block of the preset's training settings")

        if self.kind not in ADAPTER_KINDS:
            raise bad("kind", f"unknown adapter kind {self.kind!r}, expected one of {list(ADAPTER_KINDS)}")
        if isinstance(self.r, bool) or not isinstance(self.r, int) or self.r < 1:
            raise bad("r", f"the LoRA rank must be an integer >= 1, got {self.r!r}")
        number = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)  # noqa: E731
        if not (number(self.alpha) and self.alpha > 0):
            raise bad("alpha", f"must be > 0, got {self.alpha!r}")
        if not (number(self.dropout) and 0 <= self.dropout < 1):
            raise bad("dropout", f"must be in [0, 1), got {self.dropout!r}")
        if self.target_modules is not None and (
                not self.target_modules or not all(isinstance(m, str) and m for m in self.target_modules)):
            raise bad("target_modules", f"must be a non-empty list of module names, got {self.target_modules!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AdapterConfig | None:
        """The adapter of a run config dict; None (or no block) means full fine-tuning."""
        if data is None:
            return None
        if isinstance(data, AdapterConfig):
            return data
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"adapter: unknown keys {unknown}; known keys: {sorted(known)}")
        data = dict(data)
        if data.get("target_modules") is not None:
            data["target_modules"] = tuple(data["target_modules"])
        return cls(**data)


# --- Run identity: what a run's results depend on ------------------------------------------

#: Keys (``block.key`` inside a block) that change no number a run computes: where files
#: live, the preset's name (a label), the device (float rounding only), the data-parallel
#: engine (a checkpoint is the single-process state under every engine), micro-batching and
#: activation recomputation (the same update), and how often checkpoints are written (a
#: resume is exact). Left out of the run identity: editing them reruns nothing and sets no
#: checkpoint aside.
RESULT_NEUTRAL_KEYS: tuple[str, ...] = (
    "preset", "results_dir", "work_dir", "models_dir", "device", "data_parallel",
    "checkpoint_every", "ppo.micro_batch_size", "ppo.gradient_checkpointing",
)

#: The run-config keys of each settings block an agent family may read
#: (:attr:`glam_bench.paper.study.AgentSpec.reads`); keys in no block are read by every agent
#: (experiment, seed, env, the loop's frames, rewards, text switches, ...).
SETTINGS_BLOCKS: dict[str, tuple[str, ...]] = {
    "llm": ("model", "scorer", "append_eos", "pad_group_size", "non_pretrained_dropout",
            "monitoring_prompts", "candidate_space", "chat_template", "value_head_hidden",
            "precision", "adapter"),
    "ppo": ("ppo",),
    "drrn": ("drrn",),
    "symbolic_ppo": ("symbolic_ppo",),
    "bc": ("bc",),
}


def _flat(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with each dict value spread into ``block.key`` entries, JSON-normalised
    (tuples become lists, so a config read back from JSON compares equal)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat.update({f"{key}.{inner}": item for inner, item in value.items()})
        elif not isinstance(value, dict):
            flat[key] = value
    return json.loads(json.dumps(flat, sort_keys=True, default=str))


def _unread_keys(agent: str | None) -> set[str]:
    """Top-level keys of the blocks agent ``agent`` does not read (none for unknown agents)."""
    spec = study.AGENTS_BY_NAME.get(agent)
    if spec is None or spec.reads is None:
        return set()
    unknown = set(spec.reads) - set(SETTINGS_BLOCKS)
    if unknown:
        raise ConfigError(f"agent {agent!r} reads unknown settings blocks {sorted(unknown)}; "
                          f"known blocks: {', '.join(SETTINGS_BLOCKS)} (fix its AgentSpec.reads)")
    return {key for block, keys in SETTINGS_BLOCKS.items() if block not in spec.reads
            for key in keys}


def identity_of(data: dict[str, Any]) -> dict[str, Any]:
    """The run identity of a run-config dict (see :meth:`RunConfig.identity`).

    Keys the dict lacks (a config saved before they existed) take their current
    default, so only a real change of setting changes the identity.
    """
    flat = _flat({**_defaults(), **data})
    skipped = _unread_keys(data.get("agent"))
    return {key: value for key, value in sorted(flat.items())
            if key not in RESULT_NEUTRAL_KEYS and key.split(".", 1)[0] not in skipped
            and key.split(".", 1)[0] not in RESULT_NEUTRAL_KEYS}


def _defaults() -> dict[str, Any]:
    """Every RunConfig field with a default, nested blocks as dicts."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(RunConfig):
        if f.default is not dataclasses.MISSING:
            values[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            made = f.default_factory()
            values[f.name] = dataclasses.asdict(made) if dataclasses.is_dataclass(made) else made
    return values


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs; defaults are the paper's GFlan-T5 setup (§C)."""

    experiment: str
    agent: str
    seed: int
    env: str
    preset: str = "custom"
    model: str = "google/flan-t5-large"
    scorer: str = training_default("scorer")
    append_eos: bool = True
    #: raw_logits pads each group of this many (prompt, candidate) pairs to its longest
    #: candidate, as lamorel's decoder minibatches did (§B.2, §H.8); None: the whole prompt.
    pad_group_size: int | None = training_default("pad_group_size")
    #: NPAE/NPA/NPE keep the model in train mode (dropout on), as the authors' code (§B.4).
    non_pretrained_dropout: bool = training_default("non_pretrained_dropout")
    #: French goal of the French tests: the suite's grammatical one or the authors' (§D.4).
    french_goal: str = training_default("french_goal")
    #: The prompts of policy_log.csv: the suite's 11 or the authors' 11 (§B.1, §G).
    monitoring_prompts: str = training_default("monitoring_prompts")
    #: where the space before a scored action goes, and the chat template (glam_bench.llm.framing)
    candidate_space: str = training_default("candidate_space")
    chat_template: bool = training_default("chat_template")
    nbr_obs: int = 3
    action_space: str = "canonical"
    num_envs: int = 32
    frames_per_env: int = 40
    total_frames: int = 1_500_000
    reward_scale: float = 20.0
    text_fixes: bool = False
    task_sampling: str = "episode"
    device: str = "auto"
    #: fp32 (the paper's), tf32 or bf16; applied by glam_bench.runtime.devices.autocast.
    precision: str = "fp32"
    #: How several processes (torchrun) share the model: ``ddp`` keeps a full copy on each,
    #: ``fsdp`` shards weights, gradients and optimizer state (models that fit no single GPU).
    #: Meaningless with one process; see glam_bench.agents.llm_ppo.
    data_parallel: str = training_default("data_parallel")
    #: Write the checkpoint every this many updates (and after the last, and on SIGTERM).
    checkpoint_every: int = training_default("checkpoint_every")
    value_head_hidden: int = 1024
    models_dir: str = "work/models"
    #: Where the run directories live (set from the preset, or by ``glam-bench train
    #: --results-dir/--work-dir``); bc-gflan finds its source gflan run through them.
    results_dir: str = "work/results"
    work_dir: str = "work"
    ppo: PPOConfig = field(default_factory=PPOConfig)
    #: LoRA on the LLM of the LLM PPO agents; None is full fine-tuning (the paper's).
    adapter: AdapterConfig | None = None
    drrn: dict = field(default_factory=dict)
    symbolic_ppo: dict = field(default_factory=dict)
    bc: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.data_parallel not in DATA_PARALLEL_ENGINES:
            raise ConfigError(f"data_parallel: unknown engine {self.data_parallel!r}; choose one of "
                              f"{', '.join(DATA_PARALLEL_ENGINES)}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def identity(self) -> dict[str, Any]:
        """What this run's results depend on, as flat ``key``/``block.key`` entries.

        The whole config less :data:`RESULT_NEUTRAL_KEYS` and the settings blocks
        its agent does not read (:data:`SETTINGS_BLOCKS`, ``AgentSpec.reads``).
        The pipeline reruns a run when its :meth:`identity_sha` changes, and a
        checkpoint is set aside when its identity differs (``runs.changed_settings``).
        """
        return identity_of(self.to_dict())

    def identity_sha(self) -> str:
        """sha256 of :meth:`identity`: the pipeline's rerun trigger of this run."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        data = dict(data)
        ppo = dict(data.pop("ppo", {}) or {})
        if "adam_betas" in ppo:
            ppo["adam_betas"] = tuple(ppo["adam_betas"])
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown run config keys {unknown}; known keys: {sorted(known)}")
        data["adapter"] = AdapterConfig.from_dict(data.get("adapter"))
        return cls(ppo=PPOConfig(**ppo), **data)

    def save(self, path: str | Path) -> None:
        from glam_bench.runtime.results import atomic_open

        with atomic_open(path) as handle:
            json.dump(self.to_dict(), handle, indent=2, sort_keys=True)

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def validate_preset(preset: dict, source: str = "preset") -> dict:
    """Validate ``preset`` against the schema; the error names the offending key."""
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(preset), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(f"{source}: invalid preset at '{where}': {error.message}")
    return preset


def _deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def check_names(names, known, where: str, what: str) -> None:
    """ConfigError for the first of ``names`` not in ``known`` (a preset key ``where``),
    listing the valid ones."""
    for name in names or ():
        if name not in known:
            raise ConfigError(f"{where}/{name}: unknown {what} {name!r}; "
                              f"choose among {', '.join(known)}")


def study_grid(preset: dict) -> dict[str, study.ExperimentSpec]:
    """The experiments ``preset`` runs, by name, in the study's order.

    Each is the study's :class:`~glam_bench.paper.study.ExperimentSpec` (env, trained
    and reference agents, ``training``, model size, frame budget) with its
    ``tests`` narrowed to the preset's ``tests[name]`` subset when it gives one.
    ``experiments`` absent means :data:`~glam_bench.paper.study.DEFAULT_EXPERIMENTS`;
    ``agents`` narrows every experiment to those agents (absent: all of its agents),
    e.g. the agents without a language model in ``paper-cpu.yaml``.
    The Snakefile's runs and the CLI's both come from here.
    """
    selected = preset.get("experiments")
    if selected is None:
        selected = study.DEFAULT_EXPERIMENTS
    known = tuple(study.EXPERIMENTS_BY_NAME)
    check_names(selected, known, "experiments", "experiment")
    subsets = preset.get("tests") or {}
    check_names(subsets, known, "tests", "experiment")
    for name, subset in subsets.items():
        tests = study.EXPERIMENTS_BY_NAME[name].tests
        for test in subset:
            if test not in tests:
                raise ConfigError(f"tests/{name}: {test!r} is not a test of experiment {name!r}; "
                                  f"choose among {', '.join(tests) or '(it has no tests)'}")
    agents = preset.get("agents")
    if agents is not None:
        check_names(agents, tuple(study.AGENTS_BY_NAME), "agents", "agent")
        agents = tuple(agents)
    grid = {}
    for spec in study.EXPERIMENTS:
        if spec.name in selected:
            if agents is not None:
                spec = dataclasses.replace(spec, selected_agents=agents)
                if not spec.agents and not spec.reference_agents:
                    raise ConfigError(
                        f"experiments: {spec.name!r} has none of the agents {list(agents)} "
                        f"(agents: ...); leave it out of `experiments` or add one of its agents")
            if spec.name in subsets:
                spec = dataclasses.replace(
                    spec, tests=tuple(t for t in spec.tests if t in subsets[spec.name]))
            grid[spec.name] = spec
    return grid


def _experiment_scale(preset: dict, spec: study.ExperimentSpec) -> dict[str, Any]:
    """The training keys the preset gives an experiment's model size and frame budget."""
    scale: dict[str, Any] = {}
    if spec.model_size is not None:
        sizes = preset.get("model_sizes") or {}
        if spec.model_size not in sizes:
            raise ConfigError(
                f"model_sizes: experiment {spec.name!r} needs the model of size "
                f"{spec.model_size!r}; add `model_sizes: {{{spec.model_size}: <model>}}` to the "
                f"preset, or leave {spec.name!r} out of its experiments")
        scale["model"] = sizes[spec.model_size]
    budgets = preset.get("frame_budgets") or {}
    if spec.frame_budget in budgets:
        scale["total_frames"] = budgets[spec.frame_budget]
    return scale


def resolve_run(preset: dict, experiment: str, agent: str, seed: int) -> RunConfig:
    """The run config of (experiment, agent, seed) under ``preset``.

    Merged in order, each over the previous: the preset's ``training``,
    ``agent_training[agent]``, what the experiment is (its study ``training``
    block, then the preset's model for its ``model_size`` and frames for its
    ``frame_budget``), and ``experiment_training[experiment]``.
    """
    grid = study_grid(preset)
    if experiment not in grid:
        if experiment in study.EXPERIMENTS_BY_NAME:
            raise ConfigError(f"experiment {experiment!r} is not selected by this preset; add it to "
                              f"its experiments (now {', '.join(grid)})")
        raise ConfigError(
            f"unknown experiment {experiment!r}; the study's experiments are "
            f"{', '.join(study.EXPERIMENTS_BY_NAME)}"
        )
    spec = grid[experiment]
    allowed = [*spec.agents, *spec.reference_agents]
    if agent not in allowed:
        raise ConfigError(
            f"agent {agent!r} is not part of experiment {experiment!r}; choose one of {allowed}"
        )
    training = preset.get("training", {})
    for override in (preset.get("agent_training", {}).get(agent, {}), spec.training,
                     _experiment_scale(preset, spec),
                     (preset.get("experiment_training") or {}).get(experiment, {})):
        training = _deep_merge(training, override)
    return RunConfig.from_dict({
        **training,
        "experiment": experiment,
        "agent": agent,
        "seed": int(seed),
        "env": spec.env,
        "preset": preset["preset"],
        "models_dir": preset.get("models_dir", "work/models"),
        "results_dir": preset.get("results_dir", "work/results"),
        "work_dir": preset.get("work_dir", "work"),
    })
