"""The pipeline's plan: a validated preset turned into the jobs that train and evaluate it.

The study (:mod:`glam_bench.paper.study`) says what is run; a preset says how. The
plan joins them into jobs: one training job per run (experiment, agent, seed) and
one evaluation job per (run, test set), each with its rule, wildcards, input and
output files, resources and the hash of its run config. The Snakefile's rules
(``workflows/rules/*.smk``) read everything from here, and ``glam-bench plan``
prints the same jobs with their cost, so what Snakemake schedules and what the
plan says can never differ.

Torch-free and Snakemake-free: it imports the run configs, the study and the
test sets only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property, lru_cache

from glam_bench.llm.files import fetch_command, find_model
from glam_bench.llm.names import TINY_MODELS
from glam_bench.paper import study
from glam_bench.paper.test_sets import TEST_SETS
from glam_bench.runtime.config import ConfigError, RunConfig, load_schema, resolve_run, study_grid

#: The training rule of each agent kind (glam_bench.paper.study.AGENT_KINDS); one rule per kind,
#: the same job, so a cluster profile can give each kind its own settings.
TRAIN_RULES = {
    "llm": "train_llm",
    "baseline": "train_baseline",
    "bc": "train_bc",
    "reference": "register_reference",
}
#: Evaluations of agents acting through an LLM, and of the others.
EVALUATE_RULES = ("evaluate_llm", "evaluate_baseline")
#: Agent kinds whose training runs data-parallel over a job's GPUs (torchrun): the LLM PPO
#: learners (glam_bench.agents.llm_ppo). Behavioural cloning trains in one process (its
#: learner joins no process group): under torchrun each rank trained its own identical copy.
DATA_PARALLEL_KINDS = ("llm",)


def run_config_sha(config: RunConfig) -> str:
    """What identifies a run's results (:meth:`RunConfig.identity_sha`: the config less
    folders, device, engine, micro-batching, checkpoint interval and the settings blocks its
    agent does not read). A training job reruns when this changes (the rules pass it as a
    param)."""
    return config.identity_sha()


@lru_cache(maxsize=1)
def _schema_resources() -> tuple[tuple[str, tuple[tuple[str, int], ...]], ...]:
    rules = load_schema()["$defs"]["rule_resources"]["properties"]
    return tuple((rule, tuple(spec["default"].items())) for rule, spec in rules.items())


#: torchrun's own wait (s) between forwarding SIGTERM to its ranks and killing them.
TORCHRUN_SHUTDOWN_S = 30


def early_signal(stop_grace_s: int) -> str:
    """The sbatch option that sends SIGTERM ``stop_grace_s`` before the time limit, or "".

    At the limit itself SLURM sends SIGTERM and kills KillWait (30 s by default) later: too
    short to finish an update and write a large checkpoint. Without ``B:`` the signal goes to
    the job's steps, where the training process runs (the slurm-jobstep plugin's srun), and
    :func:`glam_bench.runtime.training.stop_on_sigterm` turns it into a checkpoint and exit."""
    return f"--signal=TERM@{stop_grace_s}" if stop_grace_s else ""


def default_resources() -> dict[str, dict[str, int]]:
    """Each rule's resources when the preset says nothing: the preset schema's defaults
    (``$defs/rule_resources``, the paper's values), declared there once (read once)."""
    return {rule: dict(values) for rule, values in _schema_resources()}


def train_rule(agent: str) -> str:
    """The training rule of an agent (by its kind)."""
    return TRAIN_RULES[study.AGENTS_BY_NAME[agent].kind]


def evaluate_rule(agent: str) -> str:
    """The evaluation rule of an agent: evaluate_llm when it acts through an LLM."""
    return "evaluate_llm" if study.AGENTS_BY_NAME[agent].llm is not None else "evaluate_baseline"


def agents_of_rule(rule: str) -> tuple[str, ...]:
    """The agents whose jobs a rule runs (its wildcard constraint)."""
    if rule in EVALUATE_RULES:
        return tuple(a.name for a in study.AGENTS if evaluate_rule(a.name) == rule)
    return tuple(a.name for a in study.AGENTS if train_rule(a.name) == rule)


@dataclass(frozen=True)
class Job:
    """One job of the plan: a training run or one test set of a run."""

    rule: str
    experiment: str
    agent: str
    seed: int
    test: str | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    #: gpu, mem_mb, runtime (minutes), slurm_partition: Snakemake's names, as the rules pass them
    resources: dict[str, int | str]
    run_sha: str


class Plan:
    """The jobs of one preset (schema-valid, as the Snakefile and ``load_preset`` give it)."""

    def __init__(self, preset: dict) -> None:
        self.preset = preset
        self.name: str = preset["preset"]
        self.results: str = preset.get("results_dir", "work/results")
        self.work: str = preset.get("work_dir", "work")
        self.seeds: list[int] = [int(s) for s in preset["seeds"]]
        #: The experiments this preset runs, by name (study order).
        self.experiments = study_grid(preset)
        self._configs: dict[tuple[str, str, int], RunConfig] = {}

    # --- the grid --------------------------------------------------------------------------

    def agents(self, experiment: str) -> list[str]:
        """Every agent of an experiment: trained ones, then the reference agents."""
        spec = self.experiments[experiment]
        return [*spec.agents, *spec.reference_agents]

    @cached_property
    def runs(self) -> list[tuple[str, str, int]]:
        """Every run (experiment, agent, seed), in study order."""
        return [(name, agent, seed) for name in self.experiments
                for agent in self.agents(name) for seed in self.seeds]

    @cached_property
    def evaluations(self) -> list[tuple[str, str, int, str]]:
        """Every evaluation (experiment, agent, seed, test)."""
        return [(name, agent, seed, test) for name, agent, seed in self.runs
                for test in self.experiments[name].tests]

    def run_config(self, experiment: str, agent: str, seed: int) -> RunConfig:
        """The resolved config of a run (resolved once per run)."""
        key = (experiment, agent, int(seed))
        if key not in self._configs:
            self._configs[key] = resolve_run(self.preset, experiment, agent, int(seed))
        return self._configs[key]

    def run_sha(self, experiment: str, agent: str, seed: int) -> str:
        return run_config_sha(self.run_config(experiment, agent, seed))

    # --- files -----------------------------------------------------------------------------

    def run_dir(self, experiment: str, agent: str, seed: int | str) -> str:
        return os.path.join(self.results, "runs", experiment, agent, f"seed-{seed}")

    def run_file(self, experiment: str, agent: str, seed: int | str, name: str = "done.json") -> str:
        return os.path.join(self.run_dir(experiment, agent, seed), name)

    def test_file(self, experiment: str, agent: str, seed: int | str, test: str) -> str:
        return os.path.join(self.run_dir(experiment, agent, seed), "tests", f"{test}.csv")

    @property
    def preset_file(self) -> str:
        """The validated, merged preset every job reads (written by the Snakefile)."""
        return os.path.join(self.work, "presets", f"{self.name}.yaml")

    def bc_source(self, experiment: str, agent: str, seed: int | str) -> list[str]:
        """The finished run an agent cloning a trained agent (bc-gflan: gflan) learns from:
        that agent's run of ``training.bc.source_experiment``, same seed; [] for the others."""
        demonstrator = study.AGENTS_BY_NAME[agent].demonstrator
        if demonstrator not in study.TRAINED_AGENTS:
            return []
        config = self.run_config(experiment, agent, int(seed))
        return [self.run_file(config.bc.get("source_experiment", "gotolocal"), demonstrator, seed)]

    # --- resources -------------------------------------------------------------------------

    def uses_gpu(self, experiment: str, agent: str, seed: int) -> bool:
        """Whether the run's device is not the CPU and its agent has a network worth a GPU."""
        if not study.AGENTS_BY_NAME[agent].has_network:
            return False
        return self.run_config(experiment, agent, seed).device != "cpu"

    def rule_resources(self, rule: str, experiment: str) -> dict[str, int]:
        """The preset's resources of a rule's jobs in an experiment: the schema's defaults,
        then the preset's ``resources[rule]``, then ``resources.experiments[experiment][rule]``."""
        section = self.preset.get("resources") or {}
        per_experiment = (section.get("experiments") or {}).get(experiment) or {}
        wanted = {**default_resources()[rule], **(section.get(rule) or {}),
                  **(per_experiment.get(rule) or {})}
        if wanted["stop_grace_s"] >= wanted["runtime"] * 60:
            raise ConfigError(
                f"resources: {rule} in {experiment} asks SIGTERM {wanted['stop_grace_s']} s "
                f"before a {wanted['runtime']}-minute time limit, i.e. before it starts: set "
                "stop_grace_s below runtime x 60 (0 for no early signal)")
        return wanted

    def job_resources(self, rule: str, experiment: str, agent: str, seed: int) -> dict:
        """What a job asks the scheduler for: its rule's resources in its experiment, GPUs only
        when the run uses one (registering a reference agent never does), at most one unless
        the job trains data-parallel (:meth:`data_parallel`: one process per GPU), and the
        partition that matches (a job without GPUs on the CPU partition, whatever its rule)."""
        wanted = self.rule_resources(rule, experiment)
        gpus = wanted["gpus"] if rule != "register_reference" and \
            self.uses_gpu(experiment, agent, seed) else 0
        if not self.data_parallel(rule, agent):
            gpus = min(gpus, 1)
        partitions = {"gpu": "gpu", "cpu": "cpu",
                      **((self.preset.get("resources") or {}).get("partitions") or {})}
        return {"gpu": gpus, "mem_mb": wanted["mem_mb"], "runtime": wanted["runtime"],
                "slurm_partition": partitions["gpu" if gpus else "cpu"],
                "slurm_extra": early_signal(wanted["stop_grace_s"])}

    @staticmethod
    def data_parallel(rule: str, agent: str) -> bool:
        """Whether a job of ``rule`` for ``agent`` can use several GPUs: the training of an
        agent of a :data:`DATA_PARALLEL_KINDS` kind. Evaluations run in one process."""
        return rule == train_rule(agent) and study.AGENTS_BY_NAME[agent].kind in DATA_PARALLEL_KINDS

    def launcher(self, experiment: str, agent: str, seed: int, gpus: int) -> str:
        """The CLI, or torchrun over the job's GPUs for data-parallel training (rank 0 writes)."""
        if (gpus > 1 and self.data_parallel(train_rule(agent), agent)
                and self.run_config(experiment, agent, seed).device != "cpu"):
            grace = self.rule_resources(train_rule(agent), experiment)["stop_grace_s"]
            return (f"python -m torch.distributed.run --standalone --nproc_per_node={gpus} "
                    f"--shutdown_timeout={max(grace, TORCHRUN_SHUTDOWN_S)} -m glam_bench.cli")
        return "python -m glam_bench.cli"

    # --- jobs ------------------------------------------------------------------------------

    def train_job(self, experiment: str, agent: str, seed: int) -> Job:
        return Job(
            rule=train_rule(agent), experiment=experiment, agent=agent, seed=seed, test=None,
            inputs=(self.preset_file, *self.bc_source(experiment, agent, seed)),
            outputs=(self.run_file(experiment, agent, seed),),
            resources=self.job_resources(train_rule(agent), experiment, agent, seed),
            run_sha=self.run_sha(experiment, agent, seed),
        )

    def evaluate_job(self, experiment: str, agent: str, seed: int, test: str) -> Job:
        return Job(
            rule=evaluate_rule(agent), experiment=experiment, agent=agent, seed=seed, test=test,
            inputs=(self.run_file(experiment, agent, seed),),
            outputs=(self.test_file(experiment, agent, seed, test),),
            resources=self.job_resources(evaluate_rule(agent), experiment, agent, seed),
            run_sha=self.run_sha(experiment, agent, seed),
        )

    def jobs(self) -> list[Job]:
        """Every training job, then every evaluation job."""
        return ([self.train_job(*run) for run in self.runs]
                + [self.evaluate_job(*evaluation) for evaluation in self.evaluations])

    # --- checks ----------------------------------------------------------------------------

    def check_grid(self) -> None:
        """What the schema cannot say: known test sets, and the source run of each agent that
        clones a trained agent's trajectories (bc-gflan) in the grid."""
        for name, spec in self.experiments.items():
            for test in spec.tests:
                if test not in TEST_SETS:
                    raise ConfigError(f"experiments/{name}/tests: unknown test set {test!r}; "
                                      f"choose among {', '.join(TEST_SETS)}")
            for agent in spec.agents:
                demonstrator = study.AGENTS_BY_NAME[agent].demonstrator
                if demonstrator not in study.TRAINED_AGENTS:
                    continue
                source = self.run_config(name, agent, self.seeds[0]).bc.get(
                    "source_experiment", "gotolocal")
                if source not in self.experiments or \
                        demonstrator not in self.experiments[source].agents:
                    raise ConfigError(
                        f"experiments/{name}: {agent} learns from the {demonstrator} runs of "
                        f"experiment {source!r} (training.bc.source_experiment), which this "
                        f"preset does not train; select that experiment or change "
                        f"source_experiment")

    def model_need(self, experiment: str, agent: str, seed: int) -> tuple[str, str, bool] | None:
        """(model, models_dir, weights needed) of the model a run's jobs load, when no job can
        build it; None for agents without an LLM and built-in tiny models (built by the first
        job that needs them). NPA needs only the config and tokenizer of its model."""
        llm = study.AGENTS_BY_NAME[agent].llm
        config = self.run_config(experiment, agent, seed)
        if llm is None or config.model in TINY_MODELS:
            return None
        return config.model, config.models_dir, llm.pretrained or llm.embeddings_only

    @cached_property
    def missing_models(self) -> dict[tuple[str, str, bool], list[Job]]:
        """Every model an unfinished job loads that is not on this machine -> those jobs."""
        missing: dict[tuple[str, str, bool], list[Job]] = {}
        for job in self.jobs():
            need = self.model_need(job.experiment, job.agent, job.seed)
            if need is None or all(os.path.exists(path) for path in job.outputs):
                continue
            if find_model(need[0], need[1], need_weights=need[2]) is None:
                missing.setdefault(need, []).append(job)
        return missing

    def check_models(self, run: tuple[str, str, int] | None = None) -> None:
        """Refuse a plan (or only a run, when given) whose jobs would load a model that is not
        on disk: each such job would fail in seconds, and a cluster would resubmit it. The
        one-line message names every missing model and the command that fetches it."""
        missing = self.missing_models
        if run is not None and self.model_need(*run) not in missing:
            return
        by_model: dict[tuple[str, str], int] = {}
        for (model, models_dir, _), jobs in missing.items():
            key = (model, fetch_command(model, models_dir))
            by_model[key] = by_model.get(key, 0) + len(jobs)
        if by_model:
            raise ConfigError(
                "models not on this machine, needed by planned jobs: "
                + "; ".join(f"{model} ({count} jobs): fetch it once with `{command}`"
                            for (model, command), count in by_model.items())
                + " (glam-bench never downloads at run time)")

    # --- what the runs produce, for the report ---------------------------------------------

    def available(self) -> set[tuple[str, str, str, str]]:
        """Result groups (kind, experiment, agent, test) the runs produce: the report ``Need``s
        this preset can draw."""
        available = set()
        for name, spec in self.experiments.items():
            for agent in spec.agents:
                available.add(("train_log", name, agent, ""))
                if agent in study.LLM_AGENTS:
                    available.add(("policy_log", name, agent, ""))
            for agent in self.agents(name):
                for test in spec.tests:
                    available.add(("episodes", name, agent, test))
        return available
